// Hetero LR id alignment: guest and hosts find their common rows (salted SHA-256 of the ids;
// the guest learns which of its ids each host has) and agree on their order. Training, validation
// and prediction all align here and nowhere else.
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/core/yaml.h"
#include "fatectl/he/paillier.h"
#include "fatectl/ml/metrics.h"
#include "fatectl/ml/optimizer.h"
#include "fatectl/ml/rng.h"
#include "fatectl/ml/wire.h"
#include "hetero_lr_common.h"

namespace fatectl::ml::detail::hlr {

// ---- intersection (salted SHA-256 of ids; the guest learns which of its ids each host has) ----

Dataset guest_intersect(Party& p, const Dataset& d, const std::string& tag) {
  auto mine = hash_ids(d.ids, p.job.id + "/" + tag);
  std::unordered_map<std::string, size_t> row;
  for (size_t i = 0; i < mine.size(); ++i) row[mine[i]] = i;
  std::vector<char> keep(d.rows(), 1);
  for (long h : p.job.hosts) {
    auto theirs = split_lines(p.recv(h, "hlr/" + tag + "/ids"));
    std::vector<char> in(d.rows(), 0);
    for (auto& t : theirs) {
      auto it = row.find(t);
      if (it != row.end()) in[it->second] = 1;
    }
    for (size_t i = 0; i < keep.size(); ++i) keep[i] &= in[i];
  }
  std::vector<size_t> rows;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) rows.push_back(i);
  std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return d.ids[a] < d.ids[b]; });
  std::vector<std::string> order;
  for (size_t i : rows) order.push_back(mine[i]);
  for (long h : p.job.hosts) p.send(h, "hlr/" + tag + "/order", join_lines(order));
  if (rows.empty())
    throw invalid(d.file + ": no ids in common with the host data (check id columns: intersection is empty)");
  p.log("intersection (" + tag + "): " + std::to_string(rows.size()) + " of " + std::to_string(d.rows()) + " guest rows");
  return d.select(rows);
}

Dataset host_intersect(Party& p, const Dataset& d, const std::string& tag) {
  auto mine = hash_ids(d.ids, p.job.id + "/" + tag);
  p.send(p.job.guest, "hlr/" + tag + "/ids", join_lines(mine));
  std::unordered_map<std::string, size_t> row;
  for (size_t i = 0; i < mine.size(); ++i) row[mine[i]] = i;
  auto order = split_lines(p.recv(p.job.guest, "hlr/" + tag + "/order"));
  if (order.empty()) throw invalid(d.file + ": no ids in common with the guest data (intersection is empty)");
  std::vector<size_t> rows;
  rows.reserve(order.size());
  for (auto& h : order) {
    auto it = row.find(h);
    if (it == row.end()) throw failed("intersection: the guest named an id this host does not have");
    rows.push_back(it->second);
  }
  p.log("intersection (" + tag + "): " + std::to_string(rows.size()) + " of " + std::to_string(d.rows()) + " host rows");
  return d.select(rows);
}

}  // namespace fatectl::ml::detail::hlr
