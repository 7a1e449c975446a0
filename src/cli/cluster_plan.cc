// fatectl cluster plan: size a party before installing it (src/plan does the work).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/plan/plan.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::cli {
namespace {

struct PlanFlags {
  std::string file;
  std::string data_size;
  bool offline = false;
  bool strict = false;
};

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

/// A cluster to ask: a kubeconfig was named, or one is where kubectl would look for it.
bool have_cluster(const GlobalOptions& g) {
  if (!g.kubeconfig.empty()) return true;
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) return true;
  if (const char* home = std::getenv("HOME"); home && file_exists(std::string(home) + "/.kube/config")) return true;
  return std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
}

void run_plan(const PlanFlags& f, const GlobalOptions& g) {
  plan::Options o;
  if (!f.data_size.empty()) {
    auto v = plan::parse_units(f.data_size);
    if (!v || *v == 0)
      throw invalid("--data-size: '" + f.data_size + "' is not a size (examples: 200Gi, 1.5Ti, 500G)");
    o.data_size = *v;
    o.data_size_text = f.data_size;
  }
  spec::ClusterSpec spec = spec::load(f.file);
  for (const auto& w : spec.warnings) log::warn("{}", w);
  if (!g.namespace_.empty() && g.namespace_ != spec.namespace_)
    throw invalid(f.file + ": namespace: the spec says '" + spec.namespace_ + "' but -n says '" + g.namespace_ + "'");
  bool offline = f.offline || !have_cluster(g);
  if (!f.offline && offline) log::info("no kubeconfig found: planning offline (what the spec asks and the rules it breaks)");
  plan::Plan p;
  if (offline) {
    kube::Client none(kube::Config{});
    p = plan::make_offline(spec, ops::render_for(none, spec, true), o);
  } else {
    kube::Client c(kube::load_config({g.kubeconfig, g.context}));
    p = plan::make(c, spec, ops::render_for(c, spec), o);
  }
  if (g.format() == output::Format::Table) {
    std::string text = plan::to_text(p);
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    output::print(g.format(), plan::to_node(p));
  }
  if (!p.fits()) throw ExitCode{1};
  if (f.strict && p.advice() > 0) {
    log::error("{}: {} piece(s) of advice and --strict", f.file, p.advice());
    throw ExitCode{1};
  }
}

}  // namespace

void add_cluster_plan_command(CLI::App& root, GlobalOptions& g) {
  CLI::App* cluster = cluster_command(root);
  auto f = std::make_shared<PlanFlags>();
  CLI::App* c = cluster->add_subcommand(
      "plan", "Size a party before installing it: what it asks, the reference architecture's rules it breaks, "
              "and whether its pods fit the cluster's nodes");
  c->add_option("-f,--file", f->file, "cluster spec (KubeFATE cluster.yaml; - for stdin)")->required();
  c->add_option("--data-size", f->data_size,
                "the data set this party will hold, e.g. 200Gi: the HDFS datanode and python volumes need twice it");
  c->add_flag("--offline", f->offline, "do not contact the cluster (also the default when there is no kubeconfig)");
  c->add_flag("--strict", f->strict, "exit 1 when the spec breaks a rule of level advice");
  c->footer(
      "Offline: the CPU, memory and storage every module requests and limits, and in sum; then each rule of\n"
      "the reference architecture's sizing and failure chapters (manifests/plan/rules.yaml) the spec breaks,\n"
      "as FILE:LINE:COL: key.path: advice (rule ID). Against the cluster (your kubeconfig): the nodes'\n"
      "allocatable CPU, memory and pods minus what their pods already request, the party's pods placed the\n"
      "way the scheduler would (requests, nodeSelector, node affinity, taints and tolerations, spreading\n"
      "a workload's pods), which pods stay Pending and why, which StorageClass is missing, and what the\n"
      "namespace's ResourceQuota or LimitRange would refuse; a table per node. `cluster install` runs the\n"
      "same check first. See docs/plan.md.\n\n"
      "Exit status: 0 the party fits (advice is printed but does not fail); 1 a pod cannot be placed, a\n"
      "StorageClass is missing or admission refuses an object, or, with --strict, a rule of level advice is\n"
      "broken; 2 invalid spec or flags; 3 cluster unreachable.\n\n"
      "Examples:\n"
      "  fatectl cluster plan -f examples/v1.11/party-9999-spark-pulsar.yaml --offline\n"
      "  fatectl cluster plan -f party-9999.yaml --data-size 200Gi\n"
      "  fatectl --context prod cluster plan -f party-9999.yaml -o json | jq '.cluster.pods[] | select(.pending)'\n"
      "  fatectl cluster plan -f party-9999.yaml --offline --strict   # in CI: fail on broken sizing rules");
  c->callback([f, &g] { run_plan(*f, g); });
}

}  // namespace fatectl::cli
