#pragma once
// Homo LR (private to ml/): secure sums beyond the model average — federated preparation
// statistics, validation metrics and confusion counts — and the model's checked fixed point.
// Every sum is padded pairwise (secure_agg.h) so the arbiter learns only the total.
#include <string>
#include <vector>

#include "fatectl/ml/secure_agg.h"
#include "party.h"

namespace fatectl::ml::detail::homo {

/// Client: adds `v` to every client's vector under `tag` and returns the total
/// ("homo/<tag>/agg" to the arbiter, "homo/<tag>/sum" back).
std::vector<double> secure_sum(Party& p, const PadCipher& pads, const std::string& tag, const std::vector<double>& v,
                               const std::string& what);
/// Client: sends its padded vector only (the arbiter answers with something else).
void send_padded(Party& p, const PadCipher& pads, const std::string& tag, const std::vector<double>& v,
                 const std::string& what);
/// Arbiter: the total of every client's vector under `tag`.
std::vector<double> collect_sum(Party& p, const std::vector<long>& clients, const std::string& tag);
/// Arbiter: collect_sum, then the total back to every client.
void serve_sum(Party& p, const std::vector<long>& clients, const std::string& tag);
/// How many secure sums the preparation and class weights of `job` take with federated
/// statistics (0 with local ones); clients run them in this order, the arbiter serves them.
int stat_rounds(const MlJob& job);
/// round(x·2^32) for the model average, or an error that names the value (`what`) and suggests
/// scaling the features.
uint64_t model_fixed(double x, const std::string& what);

}  // namespace fatectl::ml::detail::homo
