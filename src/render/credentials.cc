// Passwords out of ConfigMaps and plain env values, into Secrets (after every module rendered):
// - a container env value whose name says password/passwd/secret/token becomes
//   valueFrom.secretKeyRef into Secret `<workload>-credentials` (key `<container>.<ENV>`);
// - a ConfigMap file holding a password moves to the Secret of the same name, and every pod volume
//   of that ConfigMap becomes a projected volume of both (same mount paths, same files); a
//   ConfigMap left empty is dropped and its volumes read the Secret alone.
// The Secrets carry `stringData` (readable in `cluster render`); ops::render_for turns it into
// `data` before applying. KubeFATE's charts put all of these in clear; docs/render-differences.md
// lists the change.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {
namespace {

std::string lower_of(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool ends_with(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

bool credential_name(const std::string& name) {
  std::string k = lower_of(name);
  if (ends_with(k, "path") || ends_with(k, "file") || ends_with(k, "_enabled") || ends_with(k, "encrypt_password") ||
      k.find("allow") != std::string::npos)
    return false;  // where a password is kept, or whether one is used (MYSQL_ALLOW_EMPTY_PASSWORD): not a password
  if (k.find("password") != std::string::npos || k.find("passwd") != std::string::npos ||
      k.find("secret") != std::string::npos || k.find("token") != std::string::npos)
    return true;
  // "pass" and "pwd" as a word of the name: RABBITMQ_DEFAULT_PASS, default_pass, db.pwd
  size_t start = 0;
  while (start <= k.size()) {
    size_t end = k.find_first_of("_.-", start);
    if (end == std::string::npos) end = k.size();
    std::string word = k.substr(start, end - start);
    if (word == "pass" || word == "pwd") return true;
    start = end + 1;
  }
  return false;
}

bool credential_value(std::string v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r' || v.back() == ',')) v.pop_back();
  size_t b = v.find_first_not_of(' ');
  v = b == std::string::npos ? "" : v.substr(b);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
  std::string l = lower_of(v);
  return !v.empty() && l != "null" && l != "~" && l != "true" && l != "false" && l != "{}" && l != "[]" &&
         v.rfind("${", 0) != 0;  // a placeholder filled in at start
}

bool file_has_credential(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    line = line.substr(b);
    if (line[0] == '#' || line.rfind("//", 0) == 0 || line.rfind("--", 0) == 0 || line[0] == ';') continue;
    if (line.rfind("- ", 0) == 0) line = line.substr(2);
    size_t sep = line.find_first_of(":=");
    if (sep == std::string::npos) continue;
    std::string key = line.substr(0, sep);
    while (!key.empty() && (key.back() == ' ' || key.back() == '"' || key.back() == '\'')) key.pop_back();
    size_t kb = key.find_first_not_of(" \"'");
    key = kb == std::string::npos ? "" : key.substr(kb);
    if (key.find(' ') != std::string::npos || !credential_name(key)) continue;
    if (credential_value(line.substr(sep + 1))) return true;
  }
  return false;
}

void move_credentials_to_secrets(Ctx& c) {
  // 1. ConfigMap files holding a password -> Secret of the same name
  std::map<std::string, std::set<std::string>> moved;  // ConfigMap -> keys now in its Secret
  std::set<std::string> emptied;                        // ConfigMaps left without data
  std::vector<Object> secrets;
  for (auto& o : c.out) {
    if (o.kind() != "ConfigMap" || !o.node["data"] || !o.node["data"].IsMap()) continue;
    std::vector<std::string> keys;
    for (const auto& kv : o.node["data"])
      if (file_has_credential(kv.second.Scalar()) ||
          (credential_name(kv.first.Scalar()) && credential_value(kv.second.Scalar())))  // env-style key
        keys.push_back(kv.first.Scalar());
    if (keys.empty()) continue;
    YAML::Node sec(YAML::NodeType::Map);
    sec["apiVersion"] = "v1";
    sec["kind"] = "Secret";
    sec["metadata"] = yaml::clone(o.node["metadata"]);
    sec["type"] = "Opaque";
    YAML::Node data(YAML::NodeType::Map);
    for (const auto& k : keys) {
      data[k] = yaml::str(o.node["data"][k].Scalar());
      o.node["data"].remove(k);
      moved[o.name()].insert(k);
    }
    sec["stringData"] = data;
    if (o.node["data"].size() == 0) emptied.insert(o.name());
    secrets.push_back(Object{o.module, sec});
  }

  // 2. pod templates: env values -> secretKeyRef; volumes of moved ConfigMaps -> projected/secret
  for (auto& o : c.out) {
    YAML::Node spec = o.node["spec"];
    if (!spec || !spec.IsMap() || !spec["template"] || !spec["template"]["spec"]) continue;
    YAML::Node pod = spec["template"]["spec"];
    std::string cred = o.name() + "-credentials";
    YAML::Node cred_data(YAML::NodeType::Map);
    for (const char* list : {"initContainers", "containers"}) {
      if (!pod[list]) continue;
      for (auto ctr : pod[list]) {
        for (auto e : ctr["env"]) {
          if (!e["name"] || !e["value"] || !credential_name(e["name"].Scalar())) continue;
          std::string v = e["value"].Scalar();
          if (v.empty()) continue;
          std::string key = ctr["name"].Scalar() + "." + e["name"].Scalar();
          cred_data[key] = yaml::str(v);
          e.remove("value");
          YAML::Node ref(YAML::NodeType::Map);
          ref["name"] = yaml::str(cred);
          ref["key"] = yaml::str(key);
          e["valueFrom"]["secretKeyRef"] = ref;
        }
        std::vector<std::string> refs;  // env-style ConfigMaps whose password keys moved
        for (const auto& ef : ctr["envFrom"])
          if (ef["configMapRef"] && moved.count(ef["configMapRef"]["name"].Scalar()))
            refs.push_back(ef["configMapRef"]["name"].Scalar());
        for (const auto& r : refs) {
          YAML::Node sr(YAML::NodeType::Map);
          sr["secretRef"]["name"] = yaml::str(r);
          ctr["envFrom"].push_back(sr);
        }
      }
    }
    if (cred_data.size() > 0) {
      YAML::Node sec(YAML::NodeType::Map);
      sec["apiVersion"] = "v1";
      sec["kind"] = "Secret";
      sec["metadata"]["name"] = yaml::str(cred);
      sec["metadata"]["namespace"] = o.node["metadata"]["namespace"];
      sec["metadata"]["labels"] = yaml::clone(o.node["metadata"]["labels"]);
      sec["type"] = "Opaque";
      sec["stringData"] = cred_data;
      secrets.push_back(Object{o.module, sec});
    }
    if (!pod["volumes"]) continue;
    YAML::Node volumes(YAML::NodeType::Sequence);
    for (const auto& vol : pod["volumes"]) {
      if (!vol["configMap"] || !moved.count(vol["configMap"]["name"].Scalar())) {
        volumes.push_back(vol);
        continue;
      }
      YAML::Node cm = vol["configMap"];
      std::string name = cm["name"].Scalar();
      const auto& keys = moved[name];
      YAML::Node cm_items(YAML::NodeType::Sequence), sec_items(YAML::NodeType::Sequence);
      bool has_items = cm["items"] && cm["items"].IsSequence();
      if (has_items)
        for (const auto& it : cm["items"]) (keys.count(it["key"].Scalar()) ? sec_items : cm_items).push_back(it);
      bool need_cm = has_items ? cm_items.size() > 0 : !emptied.count(name);
      bool need_sec = has_items ? sec_items.size() > 0 : true;
      YAML::Node repl(YAML::NodeType::Map);
      repl["name"] = vol["name"];
      if (need_sec && !need_cm) {
        YAML::Node s(YAML::NodeType::Map);
        s["secretName"] = yaml::str(name);
        if (has_items) s["items"] = sec_items;
        if (cm["defaultMode"]) s["defaultMode"] = cm["defaultMode"];
        if (cm["optional"]) s["optional"] = cm["optional"];
        repl["secret"] = s;
      } else {
        YAML::Node sources(YAML::NodeType::Sequence);
        YAML::Node a(YAML::NodeType::Map), b(YAML::NodeType::Map);
        a["configMap"]["name"] = yaml::str(name);
        if (has_items) a["configMap"]["items"] = cm_items;
        if (cm["optional"]) a["configMap"]["optional"] = cm["optional"];
        sources.push_back(a);
        if (need_sec) {
          b["secret"]["name"] = yaml::str(name);
          if (has_items) b["secret"]["items"] = sec_items;
          if (cm["optional"]) b["secret"]["optional"] = cm["optional"];
          sources.push_back(b);
        }
        repl["projected"]["sources"] = sources;
        if (cm["defaultMode"]) repl["projected"]["defaultMode"] = cm["defaultMode"];
      }
      volumes.push_back(repl);
    }
    pod["volumes"] = volumes;
  }

  // 3. drop emptied ConfigMaps, add the Secrets
  if (!emptied.empty()) {
    // copy-construct and swap: assigning yaml-cpp nodes makes them alias each other
    std::vector<Object> kept;
    for (const auto& o : c.out)
      if (!(o.kind() == "ConfigMap" && emptied.count(o.name()))) kept.push_back(o);
    c.out.swap(kept);
  }
  for (const auto& s : secrets) c.out.push_back(s);
}

}  // namespace fatectl::render::detail
