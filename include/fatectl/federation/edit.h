#pragma once
// Editing the federation file as text for add-party and remove-party: one entry of `parties:`
// appended or removed, every other byte (comments, order, quoting) left as the operator wrote it.
#include <string>
#include <vector>

namespace fatectl::federation {

/// The keys of a new parties[] entry, as given on the command line ("" = left out).
struct PartyEntry {
  long id = 0;
  std::string name, namespace_, context, spec, chart_version, computing, storage, address;
};

/// `text` with `e` appended to the block list `parties:`. Throws Invalid when the list is written
/// in flow style or the result does not read back with the new entry.
std::string append_party(const std::string& text, const std::string& file, const PartyEntry& e);
/// `text` without the entry of party `id` (and the comment lines directly above it). Throws
/// Invalid when it is not there.
std::string drop_party(const std::string& text, const std::string& file, long id);

}  // namespace fatectl::federation
