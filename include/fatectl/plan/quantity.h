#pragma once
// Kubernetes resource quantities ("4", "500m", "8Gi", "1.5G", "2e3") as exact integers: CPU in
// millicores, everything else (memory, storage, pods, extended resources) in whole units,
// rounded up as the scheduler does. Parsing is bounded and overflow-checked.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace fatectl::plan {

/// Value of `text` times `scale` (1000 for millicores, 1 for units), rounded up; nullopt when
/// the text is not a quantity, is negative, or does not fit in 63 bits.
std::optional<int64_t> parse_scaled(std::string_view text, int64_t scale);
/// Millicores of a CPU quantity ("4" -> 4000, "250m" -> 250).
std::optional<int64_t> parse_milli(std::string_view text);
/// Whole units of a quantity ("8Gi" -> 8589934592, "1k" -> 1000), rounded up.
std::optional<int64_t> parse_units(std::string_view text);

/// "4", "2500m".
std::string format_cpu(int64_t milli);
/// The shortest exact form: "8Gi", "1500Mi", "5G", "1234".
std::string format_bytes(int64_t bytes);

/// True for resource names counted in millicores: cpu, requests.cpu, limits.cpu.
bool is_cpu(const std::string& resource);
/// Parses a value of `resource` (millicores for CPU names, units otherwise).
std::optional<int64_t> parse_resource(const std::string& resource, std::string_view text);
/// Formats a value of `resource` the way Kubernetes prints it.
std::string format_resource(const std::string& resource, int64_t v);

/// Resource name -> amount (millicores for CPU names, units otherwise).
using ResourceList = std::map<std::string, int64_t>;
/// The amount of `resource` in `l` (0 when absent).
int64_t amount(const ResourceList& l, const std::string& resource);

/// a + b with saturation at INT64_MAX (sums over many pods can never wrap).
int64_t add_sat(int64_t a, int64_t b);
/// a * b (b >= 0) with saturation.
int64_t mul_sat(int64_t a, int64_t b);

}  // namespace fatectl::plan
