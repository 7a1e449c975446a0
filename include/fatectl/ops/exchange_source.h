#pragma once
// Where an exchange route edit reads its spec and records the result: a spec file the operator
// keeps (in git), or the installed exchange itself (the spec stored in its release record).
#include <string>

#include "fatectl/ops/exchange.h"

namespace fatectl::ops {

/// The exchange spec a route command works on.
struct RouteSource {
  std::string file;     ///< -f; empty in release mode
  std::string release;  ///< --release; empty in file mode
  std::string ns;       ///< release mode: the release's namespace
  int revision = 0;     ///< release mode: the revision the text was read from
  std::string label;    ///< names the spec in messages: the path, or "release NAME revision N"
  std::string text;     ///< the spec text

  bool from_release() const { return !release.empty(); }
};

/// Reads the spec from `file`, or from the newest deployed revision of the installed exchange
/// `release` (namespace: o.namespace_override, else the only namespace holding it).
RouteSource load_route_source(const std::string& file, const std::string& release, const ReloadOptions& o);

/// File mode, before applying: when the cluster has a release of the spec's name whose stored
/// routes differ from the file's, a warning naming the routes that applying the file drops or
/// changes; "" otherwise (also when there is no release or the cluster cannot be asked).
std::string release_drift(const RouteSource& src, const ReloadOptions& o);

/// After an applied edit: stores `text` as a new revision of the release (release mode, or file
/// mode when the cluster has a release of the spec's name and namespace whose spec differs).
/// Returns one line for the operator ("" when there is no release to record in). Throws when
/// the release changed meanwhile or the record cannot be written.
std::string record_route_change(const RouteSource& src, const std::string& text, const ReloadOptions& o,
                                const std::string& description);

}  // namespace fatectl::ops
