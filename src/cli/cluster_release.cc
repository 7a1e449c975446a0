// fatectl cluster get spec|objects|notes NAME [--revision N]: what a revision of an installed
// cluster holds, read back from its release record (Helm's get values/manifest/notes).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "object_output.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/ops/release_view.h"

namespace fatectl::cli {
namespace {

struct GetFlags {
  std::string name;
  int revision = 0;
  bool show_secrets = false;
};

struct Target {
  std::unique_ptr<kube::Client> client;
  release::Record record;
};

Target load(const GetFlags& f, const GlobalOptions& g) {
  if (f.revision < 0) throw invalid("--revision: " + std::to_string(f.revision) + " is not a revision number (1, 2, ...)");
  Target t;
  t.client = std::make_unique<kube::Client>(kube::load_config({g.kubeconfig, g.context}));
  std::string ns = ops::release_namespace(*t.client, f.name, g.namespace_);
  t.record = ops::get_revision(*t.client, ns, f.name, f.revision);
  return t;
}

CLI::App* get_sub(CLI::App* get, const char* name, const char* what, GetFlags& f) {
  CLI::App* s = get->add_subcommand(name, what);
  s->add_option("name", f.name, "cluster (release) name")->required();
  s->add_option("--revision", f.revision, "revision to show (default: the newest)");
  return s;
}

}  // namespace

void add_cluster_release_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* cluster = cluster_command(root);
  CLI::App* get = cluster->add_subcommand("get", "Show what a revision of an installed cluster holds: spec, objects or notes");
  get->require_subcommand(1);
  get->footer(
      "Read from the release record of the revision (default: the newest), as Helm's `get values`,\n"
      "`get manifest` and `get notes` do. Compare two revisions with `fatectl cluster diff NAME\n"
      "--revision A --revision B`.\n\n"
      "Examples:\n"
      "  fatectl cluster get spec fate-9999 --revision 2\n"
      "  fatectl cluster get objects fate-9999 -o yaml\n"
      "  fatectl cluster get notes fate-9999");
  auto f = std::make_shared<GetFlags>();

  CLI::App* spec = get_sub(get, "spec", "The cluster spec a revision was installed or upgraded with", *f);
  spec->add_flag("--show-secrets", f->show_secrets, "print password values as stored (default: masked as \"***\")");
  spec->footer(
      "Prints the spec text as it was given (comments and layout kept), with the values of password,\n"
      "secret and token keys replaced by \"***\" unless --show-secrets. -o json prints {name, namespace,\n"
      "revision, status, specFile, spec}.\n\n"
      "Examples:\n  fatectl cluster get spec fate-9999\n"
      "  fatectl cluster get spec fate-9999 --revision 1 --show-secrets > party-9999.rev1.yaml");
  spec->callback([f, &g] {
    Target t = load(*f, g);
    const auto& r = t.record;
    std::string text = f->show_secrets ? r.spec : ops::mask_spec_secrets(r.spec);
    if (g.format() == output::Format::Json) {
      YAML::Node n(YAML::NodeType::Map);
      n["name"] = yaml::str(r.name);
      n["namespace"] = yaml::str(r.namespace_);
      n["revision"] = r.revision;
      n["status"] = yaml::str(r.status);
      n["specFile"] = yaml::str(r.spec_file);
      n["spec"] = yaml::str(text);
      text = yaml::to_json(n) + "\n";
    }
    std::fwrite(text.data(), 1, text.size(), stdout);  // masked already; --show-secrets asks for the values
    std::fprintf(stderr, "revision %d of %s (%s, %s)\n", r.revision, r.name.c_str(), r.status.c_str(), r.updated.c_str());
  });

  CLI::App* objects = get_sub(get, "objects", "The Kubernetes objects a revision's spec renders to", *f);
  objects->footer(
      "A table of module, kind, namespace and name (the revision's inventory order), or with -o yaml /\n"
      "-o json the objects themselves (Secret values as ***). The stored spec is rendered again by this\n"
      "fatectl for this cluster; when the revision was applied by another fatectl version a note on\n"
      "stderr says so.\n\n"
      "Examples:\n  fatectl cluster get objects fate-9999\n  fatectl cluster get objects fate-9999 --revision 1 -o yaml");
  objects->callback([f, &g] {
    Target t = load(*f, g);
    std::string note;
    auto objs = ops::objects_of_revision(*t.client, t.record, note);
    print_objects(objs, g);
    if (!note.empty()) log::warn("{}", note);
  });

  CLI::App* notes = get_sub(get, "notes", "What a revision installed, where it is reached, and what to run next", *f);
  notes->footer(
      "Like a chart's NOTES.txt: chart and engines, the Services other parties reach (NodePorts,\n"
      "LoadBalancers) and the web UIs' hosts as the revision renders them, then the next commands.\n"
      "The live addresses are in `fatectl cluster status`.\n\n"
      "Example:\n  fatectl cluster get notes fate-9999");
  notes->callback([f, &g] {
    Target t = load(*f, g);
    std::string note;
    auto objs = ops::objects_of_revision(*t.client, t.record, note);
    std::string text = ops::release_notes(t.record, ops::spec_of_revision(t.record), objs);
    if (g.format() != output::Format::Table) {
      YAML::Node n(YAML::NodeType::Map);
      n["name"] = yaml::str(t.record.name);
      n["namespace"] = yaml::str(t.record.namespace_);
      n["revision"] = t.record.revision;
      n["notes"] = yaml::str(text);
      output::print(g.format(), n);
      return;
    }
    print_redacted(text);
  });
}

}  // namespace fatectl::cli
