#include "fatectl/plan/quantity.h"

#include <cctype>
#include <limits>

namespace fatectl::plan {
namespace {

using u128 = unsigned __int128;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Suffix {
  const char* text;
  int pow2;   // multiply by 2^pow2
  int pow10;  // multiply by 10^pow10
};
constexpr Suffix kSuffixes[] = {
    {"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0}, {"Pi", 50, 0}, {"Ei", 60, 0},
    {"n", 0, -9},  {"u", 0, -6},  {"m", 0, -3},  {"k", 0, 3},   {"M", 0, 6},   {"G", 0, 9},
    {"T", 0, 12},  {"P", 0, 15},  {"E", 0, 18},
};

bool mul_checked(u128& x, u128 m) {
  if (x == 0 || m == 0) {
    x = 0;
    return true;
  }
  if (x > (~u128(0)) / m) return false;
  x *= m;
  return true;
}

}  // namespace

std::optional<int64_t> parse_scaled(std::string_view s, int64_t scale) {
  if (s.empty() || s.size() > 64 || scale <= 0) return std::nullopt;
  size_t i = 0;
  if (s[i] == '+') ++i;
  else if (s[i] == '-') return std::nullopt;  // requests, limits and capacities are never negative
  u128 num = 0;
  int sig = 0, frac = 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    digits = true;
    if (num == 0 && c == '0') {
      if (dot) ++frac;
      continue;
    }
    if (++sig > 36) return std::nullopt;
    num = num * 10 + static_cast<unsigned>(c - '0');
    if (dot) ++frac;
  }
  if (!digits) return std::nullopt;
  int pow2 = 0, pow10 = -frac;
  std::string_view rest = s.substr(i);
  if (!rest.empty()) {
    bool found = false;
    for (const auto& sf : kSuffixes)
      if (rest == sf.text) {
        pow2 = sf.pow2;
        pow10 += sf.pow10;
        found = true;
        break;
      }
    if (!found) {  // a decimal exponent: e3, E-2
      if (rest[0] != 'e' && rest[0] != 'E') return std::nullopt;
      size_t j = 1;
      bool neg = false;
      if (j < rest.size() && (rest[j] == '+' || rest[j] == '-')) neg = rest[j++] == '-';
      if (j >= rest.size() || rest.size() - j > 3) return std::nullopt;
      int e = 0;
      for (; j < rest.size(); ++j) {
        if (!std::isdigit(static_cast<unsigned char>(rest[j]))) return std::nullopt;
        e = e * 10 + (rest[j] - '0');
      }
      pow10 += neg ? -e : e;
    }
  }
  u128 x = num;
  if (!mul_checked(x, u128(1) << pow2)) return std::nullopt;
  if (!mul_checked(x, static_cast<u128>(scale))) return std::nullopt;
  if (pow10 >= 0) {
    for (int k = 0; k < pow10; ++k)
      if (!mul_checked(x, 10)) return std::nullopt;
  } else if (x != 0) {
    u128 d = 1;
    bool tiny = false;
    for (int k = 0; k < -pow10; ++k)
      if (!mul_checked(d, 10)) {
        tiny = true;
        break;
      }
    x = tiny ? 1 : (x + d - 1) / d;  // round up, as Kubernetes does for Value()/MilliValue()
  }
  if (x > static_cast<u128>(kMax)) return std::nullopt;
  return static_cast<int64_t>(x);
}

std::optional<int64_t> parse_milli(std::string_view text) { return parse_scaled(text, 1000); }
std::optional<int64_t> parse_units(std::string_view text) { return parse_scaled(text, 1); }

std::string format_cpu(int64_t milli) {
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

std::string format_bytes(int64_t v) {
  if (v == 0) return "0";
  // The shorter of the largest exact binary and decimal forms ("8Gi", "8G", "1536Mi"), else plain.
  std::string best = std::to_string(v);
  static const char* bin[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  for (int k = 6; k >= 1; --k) {
    int64_t unit = int64_t(1) << (10 * k);
    if (v % unit == 0) {
      std::string b = std::to_string(v / unit) + bin[k - 1];
      if (b.size() < best.size()) best = b;
      break;
    }
  }
  static const char* dec[] = {"k", "M", "G", "T", "P", "E"};
  int64_t unit = 1000000000000000000;
  for (int k = 6; k >= 1; --k, unit /= 1000)
    if (v % unit == 0) {
      std::string d = std::to_string(v / unit) + dec[k - 1];
      if (d.size() < best.size()) best = d;
      break;
    }
  return best;
}

bool is_cpu(const std::string& r) {
  return r == "cpu" || (r.size() > 4 && r.compare(r.size() - 4, 4, ".cpu") == 0);
}

std::optional<int64_t> parse_resource(const std::string& r, std::string_view text) {
  return is_cpu(r) ? parse_milli(text) : parse_units(text);
}

std::string format_resource(const std::string& r, int64_t v) {
  if (is_cpu(r)) return format_cpu(v);
  if (r.find("memory") != std::string::npos || r.find("storage") != std::string::npos ||
      r.find("hugepages") != std::string::npos)
    return format_bytes(v);
  return std::to_string(v);
}

int64_t amount(const ResourceList& l, const std::string& resource) {
  auto it = l.find(resource);
  return it == l.end() ? 0 : it->second;
}

int64_t add_sat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMax : std::numeric_limits<int64_t>::min();
  return r;
}

int64_t mul_sat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return kMax;
  return r;
}

}  // namespace fatectl::plan
