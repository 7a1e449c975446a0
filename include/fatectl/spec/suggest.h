#pragma once
// "Did you mean ...?" for mistyped keys and values: the nearest candidate by edit distance.
#include <string>
#include <vector>

namespace fatectl::spec {

/// Optimal-string-alignment distance (insert, delete, substitute, swap of neighbours);
/// letter case differences cost half as much as other edits (distance is returned doubled).
size_t edit_distance2(const std::string& a, const std::string& b);

/// The candidate closest to `word`, or "" when none is close enough to be a plausible typo.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace fatectl::spec
