#include "fatectl/spec/suggest.h"

#include <algorithm>
#include <cctype>

namespace fatectl::spec {

size_t edit_distance2(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  if (n > 256 || m > 256) return 2 * std::max(n, m);  // keys are short; don't spend time on junk
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = 0; i <= n; ++i) d[i][0] = 2 * i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = 2 * j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t sub = 0;
      if (a[i - 1] != b[j - 1]) {
        bool case_only = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                         std::tolower(static_cast<unsigned char>(b[j - 1]));
        sub = case_only ? 1 : 2;
      }
      size_t best = std::min({d[i - 1][j] + 2, d[i][j - 1] + 2, d[i - 1][j - 1] + sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) best = std::min(best, d[i - 2][j - 2] + 2);
      d[i][j] = best;
    }
  }
  return d[n][m];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = static_cast<size_t>(-1);
  for (const auto& c : candidates) {
    size_t dist = edit_distance2(word, c);
    if (dist < best_d) {
      best_d = dist;
      best = c;
    }
  }
  if (best.empty()) return "";
  // Plausible typo: at most 2 edits for short words, a third of the length for long ones.
  size_t len = std::max(word.size(), best.size());
  size_t limit = 2 * std::max<size_t>(2, len / 3);
  return best_d <= limit ? best : "";
}

}  // namespace fatectl::spec
