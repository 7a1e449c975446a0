#pragma once
// What a revision of an installed cluster holds, read back from its release record (Helm's
// `get values/manifest/notes` and a diff between two revisions): the spec as stored, the
// objects it renders to, notes for the operator, and the difference between two revisions.
#include <string>
#include <vector>

#include "fatectl/kube/apply.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/release/record.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::ops {

/// Revision `revision` (0 = the newest) of release `name` in `ns`; a stale pending revision is
/// settled first. Throws Failed when the release or the revision does not exist.
release::Record get_revision(kube::Client& c, const std::string& ns, const std::string& name, int revision);

/// The spec a revision stored, parsed (its passwords registered as log secrets).
spec::ClusterSpec spec_of_revision(const release::Record& r);

/// The objects a revision's spec renders to with this fatectl for this cluster, in apply order.
/// `note` says when the revision was applied by another fatectl version (the rendering may then
/// differ from what that version applied).
std::vector<kube::Manifest> objects_of_revision(kube::Client& c, const release::Record& r, std::string& note);

/// Notes for the operator (Helm's NOTES.txt): what was installed, where other parties and the
/// web UIs reach it (from the rendered Services and Ingresses), and the next commands.
std::string release_notes(const release::Record& r, const spec::ClusterSpec& spec,
                          const std::vector<kube::Manifest>& objects);

/// `cluster diff NAME --revision A --revision B`: the stored specs and the rendered objects of two
/// revisions compared (Secret values masked). Empty spec_diff and objects = no difference.
struct RevisionDiff {
  int from = 0, to = 0;
  std::string spec_diff;            ///< unified diff of the spec texts (secret values masked)
  std::vector<ObjectDiff> objects;  ///< action create/update/delete from `from` to `to`
};
RevisionDiff diff_revisions(kube::Client& c, const std::string& ns, const std::string& name, int from, int to);

/// A spec text with the values of password/secret/token keys replaced by "***" (line by line,
/// comments and layout kept).
std::string mask_spec_secrets(const std::string& spec_text);

}  // namespace fatectl::ops
