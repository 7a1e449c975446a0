// fatectl cluster render | cluster images, and fatectl bench render.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/render/render.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::cli {

namespace {

struct RenderCmdOptions {
  std::string file;
  std::string kube_version;
  std::string registry;
  bool lenient = false;
  bool pairs = false;  ///< images --pairs: source -> destination for mirroring into --registry
};

spec::ClusterSpec load_spec(const RenderCmdOptions& o, const GlobalOptions& g) {
  spec::LoadOptions lo;
  lo.lenient = o.lenient;
  spec::ClusterSpec s = spec::load(o.file, lo);
  for (const auto& w : s.warnings) log::warn("{}", w);
  if (!g.namespace_.empty()) s.namespace_ = g.namespace_;
  return s;
}

render::RenderOptions render_options(const RenderCmdOptions& o) {
  render::RenderOptions ro;
  ro.kube_version = o.kube_version;
  ro.registry = o.registry;
  return ro;
}

void run_render(const RenderCmdOptions& o, const GlobalOptions& g) {
  spec::ClusterSpec s = load_spec(o, g);
  std::vector<render::Object> objs = render::render(s, render_options(o));
  if (g.format() == output::Format::Json) {
    YAML::Node list(YAML::NodeType::Map);
    list["apiVersion"] = "v1";
    list["kind"] = "List";
    list["items"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& obj : objs) list["items"].push_back(obj.node);
    std::fputs(yaml::to_json(list, true).c_str(), stdout);
    std::fputc('\n', stdout);
    return;
  }
  std::string out;
  for (const auto& obj : objs) {
    out += "---\n";
    if (!obj.module.empty()) out += "# module: " + obj.module + "\n";
    out += yaml::to_yaml(obj.node);
  }
  std::fputs(out.c_str(), stdout);
  log::debug("{}: {} objects", s.file, objs.size());
}

void run_images(const RenderCmdOptions& o, const GlobalOptions& g) {
  spec::ClusterSpec s = load_spec(o, g);
  // floating tags are named for the references as the spec has them (what would be mirrored)
  RenderCmdOptions as_spec = o;
  as_spec.registry.clear();
  for (const auto& d : render::floating_image_warnings(s, render_options(as_spec))) log::warn("{}", d.str());
  if (o.pairs) {
    if (o.registry.empty())
      throw invalid("cluster images --pairs: give the registry to mirror into with --registry, e.g. --registry harbor.bank.local/fate");
    // the same containers rendered with the spec's registry and with --registry: what is pulled
    // today -> what fatectl will pull once the spec says `registry: R`
    auto from = render::image_uses(s, render_options(as_spec));
    auto to = render::image_uses(s, render_options(o));
    if (from.size() != to.size()) throw failed("cluster images --pairs: the two renderings differ in shape (a fatectl bug)");
    std::vector<std::pair<std::string, std::string>> pairs;
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < from.size(); ++i)
      if (seen.insert({from[i].image, to[i].image}).second) pairs.push_back({from[i].image, to[i].image});
    std::sort(pairs.begin(), pairs.end());
    if (g.format() == output::Format::Json || g.format() == output::Format::Yaml) {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const auto& [a, b] : pairs) {
        YAML::Node e(YAML::NodeType::Map);
        e["source"] = yaml::str(a);
        e["destination"] = yaml::str(b);
        n.push_back(e);
      }
      output::print(g.format(), n);
      return;
    }
    for (const auto& [a, b] : pairs) std::printf("%s %s\n", a.c_str(), b.c_str());
    return;
  }
  std::vector<std::string> imgs = render::images(s, render_options(o));
  if (g.format() == output::Format::Json || g.format() == output::Format::Yaml) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const auto& i : imgs) n.push_back(yaml::str(i));
    output::print(g.format(), n);
    return;
  }
  for (const auto& i : imgs) std::printf("%s\n", i.c_str());
}

// ---- bench render --------------------------------------------------------------------------

struct BenchRenderOptions {
  std::vector<std::string> files;
  double min_time = 0.5;
};

double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// The biggest spec files under examples/ (fate and exchange charts), when no -f is given.
std::vector<std::string> default_bench_files() {
  namespace fs = std::filesystem;
  std::vector<std::pair<uintmax_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory("examples", ec))
    throw Error(ErrorKind::Invalid, "bench render: no -f given and no examples/ folder here; pass -f SPEC");
  for (auto it = fs::recursive_directory_iterator("examples", ec); it != fs::recursive_directory_iterator(); ++it) {
    const auto& p = it->path();
    if (p.extension() != ".yaml" || p.string().find("/jobs/") != std::string::npos) continue;
    found.emplace_back(fs::file_size(p, ec), p.string());
  }
  std::sort(found.rbegin(), found.rend());
  std::vector<std::string> files;
  for (size_t i = 0; i < found.size() && i < 1; ++i) files.push_back(found[i].second);
  return files;
}

void run_bench_render(const BenchRenderOptions& o, const GlobalOptions& g) {
  std::vector<std::string> files = o.files.empty() ? default_bench_files() : o.files;
  YAML::Node results(YAML::NodeType::Sequence);
  output::Table t;
  t.headers = {"spec", "objects", "runs", "mean ms", "best ms"};
  for (const auto& f : files) {
    std::string text = yaml::read_file(f);
    size_t objects = 0, runs = 0;
    double best = 1e9, start = cpu_now();
    while (cpu_now() - start < o.min_time || runs < 5) {
      double t0 = cpu_now();
      spec::ClusterSpec s = spec::parse(text, f);
      objects = render::render(s).size();
      double dt = cpu_now() - t0;
      best = std::min(best, dt);
      ++runs;
    }
    double mean = (cpu_now() - start) / double(runs);
    YAML::Node r;
    r["spec"] = yaml::str(f);
    r["objects"] = objects;
    r["runs"] = runs;
    r["meanMs"] = fmt::format("{:.3f}", mean * 1e3);
    r["bestMs"] = fmt::format("{:.3f}", best * 1e3);
    results.push_back(r);
    t.rows.push_back({f, std::to_string(objects), std::to_string(runs), fmt::format("{:.3f}", mean * 1e3),
           fmt::format("{:.3f}", best * 1e3)});
  }
  output::print(g.format(), results, t);
  if (g.format() == output::Format::Table) std::printf("(validate + render per spec, thread CPU time; target < 20 ms)\n");
}

}  // namespace

void add_cluster_render_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* cluster = cluster_command(root);
  auto ro = std::make_shared<RenderCmdOptions>();
  CLI::App* r = cluster->add_subcommand(
      "render", "Print every Kubernetes object the spec's chart would create, in apply order (no cluster needed)");
  r->add_option("-f,--file", ro->file, "cluster spec file (- for stdin)")->required();
  r->add_option("--kube-version", ro->kube_version,
                "Kubernetes version of the target cluster, e.g. 1.24 (default: current). Below 1.25 "
                "podSecurityPolicy.enabled renders a PodSecurityPolicy; from 1.25 on, Pod Security Admission "
                "labels on the Namespace");
  r->add_option("--registry", ro->registry, "image registry to use instead of the spec's `registry`");
  r->add_flag("--lenient", ro->lenient, "accept unknown keys in the spec with a warning");
  r->footer(
      "Output: a multi-document YAML stream (default, or -o yaml), or -o json for a v1 List. Each document\n"
      "is preceded by a `# module: NAME` comment. The objects carry KubeFATE's labels plus\n"
      "app.kubernetes.io/managed-by=fatectl and app.kubernetes.io/instance=<name>.\n"
      "Where fatectl deliberately differs from KubeFATE's charts, see docs/render-differences.md.\n\n"
      "Examples:\n"
      "  fatectl cluster render -f examples/v1.11/party-9999-eggroll.yaml\n"
      "  fatectl cluster render -f examples/exchange/fate-exchange.yaml -o json | jq '.items[].metadata.name'\n"
      "  fatectl cluster render -f cluster.yaml --kube-version 1.24 | kubectl apply --dry-run=client -f -\n");
  r->callback([ro, &g] { run_render(*ro, g); });

  auto io = std::make_shared<RenderCmdOptions>();
  CLI::App* im = cluster->add_subcommand("images", "List every image the spec's workloads use, one per line");
  im->add_option("-f,--file", io->file, "cluster spec file (- for stdin)")->required();
  im->add_option("--registry", io->registry, "print the references as they would be with this registry");
  im->add_flag("--pairs", io->pairs,
               "with --registry: print 'SOURCE DESTINATION' per image, the reference pulled today and the one "
               "fatectl pulls once the spec says registry: R (for skopeo, crane or docker tag/push)");
  im->add_flag("--lenient", io->lenient, "accept unknown keys in the spec with a warning");
  im->footer(
      "For mirroring into a private registry before an air-gapped install. An image with a floating\n"
      "tag (latest, or none) gets a warning on stderr: it can change under the same name.\n\n"
      "Examples:\n"
      "  fatectl cluster images -f examples/v1.11/party-9999-spark-pulsar.yaml\n"
      "  for i in $(fatectl cluster images -f cluster.yaml); do docker pull $i; done\n"
      "  fatectl cluster images -f cluster.yaml --registry harbor.bank.local/fate\n"
      "  fatectl cluster images -f cluster.yaml --pairs --registry harbor.bank.local/fate |\n"
      "    while read src dst; do skopeo copy docker://$src docker://$dst; done\n");
  im->callback([io, &g] { run_images(*io, g); });

  auto bo = std::make_shared<BenchRenderOptions>();
  CLI::App* bench = bench_command(root);
  CLI::App* b = bench->add_subcommand("render", "Time validating and rendering cluster specs");
  b->add_option("-f,--file", bo->files, "spec files (repeatable; default: the largest spec under ./examples)");
  b->add_option("--min-time", bo->min_time, "seconds of measurement per spec (default 0.5)");
  b->footer(
      "Measures spec parsing + strict validation + rendering, in thread CPU time, repeated for --min-time.\n\n"
      "Examples:\n"
      "  fatectl bench render\n"
      "  fatectl bench render -f examples/v1.11/party-9999-spark-pulsar.yaml -o json\n");
  b->callback([bo, &g] { run_bench_render(*bo, g); });
}

}  // namespace fatectl::cli
