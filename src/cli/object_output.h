#pragma once
// Printing Kubernetes objects and text from cluster commands without letting a secret through:
// Secret values become "***", and every registered secret (tokens, spec passwords, Secret values)
// is redacted (cluster_ops.cc).
#include <string>
#include <vector>

#include "fatectl/kube/apply.h"
#include "global.h"

namespace fatectl::cli {

/// Writes `text` to stdout with every registered secret replaced by ***.
void print_redacted(const std::string& text);
/// The objects as a table (module, kind, namespace, name), or with -o yaml a stream of documents
/// (each after a `# module:` comment), or with -o json a v1 List; Secret values masked.
void print_objects(const std::vector<kube::Manifest>& objs, const GlobalOptions& g);

}  // namespace fatectl::cli
