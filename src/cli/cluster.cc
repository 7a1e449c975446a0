// fatectl cluster ...: the command group for one FATE party or exchange. This file creates the
// group and `cluster validate`; cluster_render.cc and cluster_ops.cc add their verbs to it.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "diagnostics_output.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/render/render.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::cli {

CLI::App* cluster_command(CLI::App& root) {
  for (CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == "cluster") return sub;
  CLI::App* c = root.add_subcommand(
      "cluster", "Validate, render, install and operate a FATE party or Exchange from a KubeFATE cluster spec");
  c->require_subcommand(1);
  c->footer(
      "A cluster spec is the cluster.yaml you would give `kubefate cluster install` (chart fate v1.6.x,\n"
      "v1.9-v1.11, v2.0.x, or fate-exchange). Examples: examples/ in the fatectl sources.");
  return c;
}

namespace {

struct ValidateOptions {
  std::string file;
  bool lenient = false;
};

void run_validate(const ValidateOptions& o, GlobalOptions& g) {
  spec::LoadOptions lo;
  lo.lenient = o.lenient;
  spec::Report r = spec::check_file(o.file, lo);
  if (r.ok()) {
    // images whose tag floats (latest, or none) are valid but a trap: say so
    try {
      for (auto& d : render::floating_image_warnings(r.spec)) r.warnings.push_back(d);
    } catch (const Error& e) {
      log::debug("image check skipped: {}", e.what());
    }
  }
  output::Format f = g.format();
  if (f != output::Format::Table) {
    YAML::Node n;
    n["file"] = yaml::str(r.spec.file);
    n["valid"] = r.ok();
    if (!r.spec.chart_name.empty()) n["chartName"] = yaml::str(r.spec.chart_name);
    if (!r.spec.chart_version.empty()) n["chartVersion"] = yaml::str(r.spec.chart_version);
    if (r.ok()) {
      n["generation"] = yaml::str(spec::generation_name(r.spec.generation));
      n["name"] = yaml::str(r.spec.name);
      n["namespace"] = yaml::str(r.spec.namespace_);
      n["partyId"] = r.spec.party_id;
      for (const auto& m : r.spec.modules) n["modules"].push_back(yaml::str(m));
      if (!r.spec.is_exchange()) {
        n["computing"] = yaml::str(r.spec.computing);
        n["federation"] = yaml::str(r.spec.federation);
        n["storage"] = yaml::str(r.spec.storage);
      }
    }
    print_diagnostics_document(f, n, r.errors, r.warnings);
    return;
  }
  log_diagnostics(r.spec.file, r.errors, r.warnings);
  std::string layout;
  if (!r.spec.is_exchange()) layout = ", " + r.spec.computing + "/" + r.spec.federation + "/" + r.spec.storage;
  std::string mods;
  for (const auto& m : r.spec.modules) mods += (mods.empty() ? "" : " ") + m;
  std::printf("OK %s: chart %s %s (%s%s), party %ld, modules: %s%s\n", r.spec.file.c_str(),
              r.spec.chart_name.c_str(), r.spec.chart_version.c_str(),
              spec::generation_name(r.spec.generation).c_str(), layout.c_str(), r.spec.party_id, mods.c_str(),
              r.warnings.empty() ? "" : (" (" + std::to_string(r.warnings.size()) + " warnings)").c_str());
}

}  // namespace

void add_cluster_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* cluster = cluster_command(root);
  auto opts = std::make_shared<ValidateOptions>();
  CLI::App* v = cluster->add_subcommand(
      "validate",
      "Check a cluster spec strictly: unknown keys (with the nearest valid key), types, required keys, the "
      "computing/federation/storage/module matrix, party ids, ports and NodePorts, route tables, duplicate keys");
  v->add_option("-f,--file", opts->file, "cluster spec file (- for stdin)")->required();
  v->add_flag("--lenient", opts->lenient,
              "report unknown keys as warnings instead of errors (for old specs carrying keys the chart ignores)");
  v->footer(
      "Every problem is printed as FILE:LINE:COL: key.path: message. Exit status 0 when the spec is valid\n"
      "(warnings may still be printed), 2 when it is not.\n\n"
      "Examples:\n"
      "  fatectl cluster validate -f examples/v1.11/party-9999-eggroll.yaml\n"
      "  fatectl cluster validate -f old-cluster.yaml --lenient\n"
      "  fatectl cluster validate -f cluster.yaml -o json | jq .errors\n");
  v->callback([opts, &g] { run_validate(*opts, g); });
}

}  // namespace fatectl::cli
