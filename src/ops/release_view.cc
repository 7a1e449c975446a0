#include "fatectl/ops/release_view.h"

#include <map>
#include <set>
#include <sstream>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/release/pending.h"
#include "fatectl/version.h"

namespace fatectl::ops {
namespace {

using kube::F;
using kube::Manifest;
using kube::ObjectRef;
using release::Record;

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

size_t indent_of(const std::string& l) {
  size_t i = 0;
  while (i < l.size() && l[i] == ' ') ++i;
  return i;
}

/// Collects the scalar nodes under secret keys (with their marks).
void secret_nodes(const YAML::Node& n, const std::string& key, std::vector<YAML::Node>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) secret_nodes(kv.second, kv.first.IsScalar() ? kv.first.Scalar() : "", out);
  } else if (n.IsSequence()) {
    for (const auto& e : n) secret_nodes(e, key, out);
  } else if (n.IsScalar() && secret_key_name(key) && !n.Scalar().empty()) {
    out.push_back(n);
  }
}

/// End (exclusive) of the scalar starting at `col` of line `l`: past the closing quote of a
/// quoted scalar, before ` #` or trailing spaces of a plain one.
size_t scalar_end(const std::string& l, size_t col) {
  if (col >= l.size()) return l.size();
  char q = l[col];
  if (q == '"' || q == '\'') {
    for (size_t i = col + 1; i < l.size(); ++i) {
      if (q == '"' && l[i] == '\\') {
        ++i;
        continue;
      }
      if (l[i] == q) {
        if (q == '\'' && i + 1 < l.size() && l[i + 1] == '\'') {
          ++i;
          continue;
        }
        return i + 1;
      }
    }
    return l.size();
  }
  size_t end = l.find(" #", col);
  if (end == std::string::npos) end = l.size();
  while (end > col && l[end - 1] == ' ') --end;
  return end;
}

std::string object_id(const ObjectRef& r) {
  return r.api_version + "." + r.kind + "." + (r.namespace_.empty() ? "" : r.namespace_ + ".") + r.name;
}

/// One line per endpoint the rendered objects expose.
void exposed(const std::vector<Manifest>& objects, std::vector<std::string>& routes, std::vector<std::string>& uis) {
  for (const auto& m : objects) {
    F o(m.node);
    std::string kind = o["kind"].str(), name = o["metadata"]["name"].str();
    std::string mod = m.module.empty() ? "shared" : m.module;
    if (kind == "Service") {
      std::string type = o["spec"]["type"].str();
      if (type != "NodePort" && type != "LoadBalancer") continue;
      for (const auto& p : o["spec"]["ports"]) {
        std::string np = F(p)["nodePort"].str();
        std::string line = "  " + mod + ": Service " + name + " (" + type + ") port " + F(p)["port"].str();
        if (!F(p)["name"].str().empty()) line += " (" + F(p)["name"].str() + ")";
        line += np.empty() ? (type == "NodePort" ? ", NodePort assigned by the cluster" : "")
                           : " -> NodePort " + np + " on every node";
        routes.push_back(line);
      }
    } else if (kind == "Ingress") {
      for (const auto& rule : o["spec"]["rules"]) {
        std::string host = F(rule)["host"].str();
        if (!host.empty()) uis.push_back("  " + mod + ": http://" + host + "/ (Ingress " + name + ")");
      }
    } else if (kind == "VirtualService") {
      for (const auto& h : o["spec"]["hosts"]) uis.push_back("  " + mod + ": http://" + F(h).str() + "/ (istio VirtualService " + name + ")");
    }
  }
}

}  // namespace

std::string mask_spec_secrets(const std::string& spec_text) {
  YAML::Node root;
  try {
    root = yaml::parse(spec_text, "spec");
  } catch (const Error&) {
    return "# (the stored spec does not parse; not shown so that no password is printed)\n";
  }
  std::vector<YAML::Node> nodes;
  secret_nodes(root, "", nodes);
  auto lines = lines_of(spec_text);
  std::set<size_t> drop;  // continuation lines of masked block scalars
  for (const auto& n : nodes) {
    YAML::Mark m = n.Mark();
    if (m.line < 0 || static_cast<size_t>(m.line) >= lines.size()) continue;
    std::string& l = lines[static_cast<size_t>(m.line)];
    size_t col = static_cast<size_t>(std::max(0, m.column));
    if (col > l.size()) continue;
    if (col < l.size() && (l[col] == '|' || l[col] == '>')) {
      size_t base = indent_of(l);
      for (size_t i = static_cast<size_t>(m.line) + 1; i < lines.size(); ++i) {
        if (lines[i].find_first_not_of(' ') == std::string::npos) {
          drop.insert(i);
          continue;
        }
        if (indent_of(lines[i]) <= base) break;
        drop.insert(i);
      }
      l = l.substr(0, col) + "\"***\"";
      continue;
    }
    size_t end = scalar_end(l, col);
    l = l.substr(0, col) + "\"***\"" + l.substr(end);
    // a plain or quoted scalar continued on the next lines (folded): drop the continuation
    for (size_t i = static_cast<size_t>(m.line) + 1; i < lines.size(); ++i) {
      if (lines[i].find_first_not_of(' ') == std::string::npos) break;
      if (indent_of(lines[i]) <= indent_of(l)) break;
      if (lines[i].find(':') != std::string::npos || lines[i].find("- ") == indent_of(lines[i])) break;
      drop.insert(i);
    }
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i)
    if (!drop.count(i)) out += lines[i] + "\n";
  return out;
}

Record get_revision(kube::Client& c, const std::string& ns, const std::string& name, int revision) {
  release::Store store(c, ns);
  auto history = store.history(name);
  if (history.empty()) throw failed("no cluster '" + name + "' in namespace '" + ns + "'");
  release::settle_stale(store, history);
  if (revision == 0) return history.back();
  std::string revs;
  for (const auto& r : history) {
    if (r.revision == revision) return r;
    revs += (revs.empty() ? "" : ", ") + std::to_string(r.revision);
  }
  throw failed("cluster '" + name + "' has no revision " + std::to_string(revision) + " (it has " + revs +
               "; the newest 10 are kept)");
}

spec::ClusterSpec spec_of_revision(const Record& r) {
  spec::ClusterSpec s = spec::parse(r.spec, r.spec_file.empty() ? "revision " + std::to_string(r.revision) : r.spec_file);
  return s;
}

std::vector<Manifest> objects_of_revision(kube::Client& c, const Record& r, std::string& note) {
  note.clear();
  if (r.fatectl_version != kVersion)
    note = "revision " + std::to_string(r.revision) + " was applied by fatectl " + r.fatectl_version +
           "; these objects are its spec rendered by fatectl " + kVersion + " and may differ from what it applied";
  return render_for(c, spec_of_revision(r));
}

std::string release_notes(const Record& r, const spec::ClusterSpec& spec, const std::vector<Manifest>& objects) {
  std::string o;
  o += r.name + ": chart " + r.chart + " " + r.chart_version;
  if (!spec.is_exchange()) o += " (" + spec.computing + "/" + spec.federation + "/" + spec.storage + ")";
  o += ", party " + std::to_string(spec.party_id) + ", namespace " + r.namespace_ + ", revision " +
       std::to_string(r.revision) + " (" + r.status + ")\n";
  std::string mods;
  for (const auto& m : spec.modules) mods += (mods.empty() ? "" : " ") + m;
  o += "modules: " + mods + "\n";
  std::vector<std::string> routes, uis;
  exposed(objects, routes, uis);
  o += "\n";
  if (routes.empty()) {
    o += "Nothing is exposed outside the cluster (every Service is ClusterIP): other parties cannot reach this " +
         std::string(spec.is_exchange() ? "Exchange" : "party") + " unless they run in the same cluster.\n";
  } else {
    o += std::string(spec.is_exchange() ? "Parties reach the Exchange at" : "Other parties and the Exchange reach this party at") +
         " (use a node's address):\n";
    for (const auto& l : routes) o += l + "\n";
  }
  if (!uis.empty()) {
    o += "\nWeb UIs:\n";
    for (const auto& l : uis) o += l + "\n";
  }
  std::string ns = " -n " + r.namespace_;
  o += "\nNext:\n";
  o += "  fatectl cluster status " + r.name + ns + "          # readiness and the live addresses\n";
  if (spec.is_exchange()) {
    o += "  fatectl exchange route list --release " + r.name + ns + "\n";
    o += "  fatectl exchange route add --release " + r.name + ns + " --party PARTY --tunnel HOST:PORT --apply\n";
  } else {
    o += "  fatectl toy --guest " + std::to_string(spec.party_id) + " --host PEER_PARTY" + ns +
         "   # FATE's toy_example once a peer is routed\n";
  }
  o += "  fatectl cluster history " + r.name + ns + "\n";
  return o;
}

RevisionDiff diff_revisions(kube::Client& c, const std::string& ns, const std::string& name, int from, int to) {
  Record a = get_revision(c, ns, name, from);
  Record b = get_revision(c, ns, name, to);
  RevisionDiff d;
  d.from = a.revision;
  d.to = b.revision;
  std::string la = "revision " + std::to_string(a.revision), lb = "revision " + std::to_string(b.revision);
  d.spec_diff = unified_diff(mask_spec_secrets(a.spec), mask_spec_secrets(b.spec), la + "/spec", lb + "/spec");
  if (a.spec == b.spec && d.spec_diff.empty()) return d;
  auto oa = render_for(c, spec_of_revision(a)), ob = render_for(c, spec_of_revision(b));
  std::map<ObjectRef, const Manifest*> in_a;
  for (const auto& m : oa) in_a[m.ref()] = &m;
  std::set<ObjectRef> in_b;
  for (const auto& m : ob) {
    ObjectRef r = m.ref();
    in_b.insert(r);
    auto it = in_a.find(r);
    std::string before = it == in_a.end() ? "" : yaml::to_yaml(comparable(it->second->node));
    std::string after = yaml::to_yaml(comparable(m.node));
    if (before == after) continue;
    d.objects.push_back(ObjectDiff{r, m.module, it == in_a.end() ? "create" : "update",
                                   unified_diff(before, after, la + "/" + object_id(r), lb + "/" + object_id(r))});
  }
  for (const auto& m : oa) {
    ObjectRef r = m.ref();
    if (in_b.count(r)) continue;
    d.objects.push_back(ObjectDiff{r, m.module, "delete",
                                   unified_diff(yaml::to_yaml(comparable(m.node)), "", la + "/" + object_id(r),
                                                lb + "/" + object_id(r))});
  }
  return d;
}

}  // namespace fatectl::ops
