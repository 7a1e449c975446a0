#pragma once
// Pieces of the route transaction shared by route_txn.cc (route changes) and exchange_deploy.cc
// (upgrade and rollback of an exchange).
#include <string>
#include <vector>

#include "fatectl/ops/route_txn.h"

namespace fatectl::ops::detail {

/// Which route set each pod runs (previous, new, or neither with its differences).
std::vector<std::string> pod_states(ExchangeCluster& cl, const RouteConfigMaps& previous, const RouteConfigMaps& next,
                                    const std::string& previous_name, const ReloadOptions& o);
/// After a failed change: converges back to `previous` (baseline `next`), fills r.restore,
/// r.outcome ("restored" or "inconsistent") and r.pod_states; returns the sentence to report.
std::string restore(ExchangeCluster& cl, RouteTxnReport& r, const RouteConfigMaps& previous,
                    const RouteConfigMaps& next, const ReloadOptions& o);

}  // namespace fatectl::ops::detail
