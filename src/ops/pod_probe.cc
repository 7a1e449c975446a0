#include "pod_probe.h"

#include <sstream>

namespace fatectl::ops::detail {
namespace {

long to_long(const std::string& s) {
  try {
    size_t used = 0;
    long v = std::stol(s, &used);
    return used > 0 ? v : -1;
  } catch (...) {
    return -1;
  }
}

std::string dir_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s + 1);
}

// Prints at most kMaxPodFile + 1 bytes of a file, so an oversized file shows as such.
const char* kCatBounded = "head -c \"$2\" -- \"$1\"";

}  // namespace

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

PodExecResult PodProbe::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  return cl_.exec(ns_, pod_, container_, argv, timeout);
}

bool PodProbe::read_file(const std::string& path, std::string& out, std::string& err) {
  PodExecResult r = run({"sh", "-c", kCatBounded, "sh", path, std::to_string(kMaxPodFile + 1)});
  if (r.exit_code != 0) {
    err = rstrip(r.err).empty() ? "exit " + std::to_string(r.exit_code) : rstrip(r.err);
    return false;
  }
  if (r.out.size() > kMaxPodFile) {
    err = path + " is larger than " + std::to_string(kMaxPodFile) + " bytes";
    return false;
  }
  out = r.out;
  return true;
}

long PodProbe::mtime(const std::string& path) {
  PodExecResult r = run({"stat", "-L", "-c", "%Y", path});
  return r.exit_code == 0 ? to_long(rstrip(r.out)) : -1;
}

long PodProbe::metric(const std::string& name) {
  PodExecResult r = run({o_.traffic_ctl, "metric", "get", name});
  if (r.exit_code != 0) return -1;
  std::istringstream in(r.out);
  std::string k, v;
  in >> k >> v;
  return to_long(v);
}

long PodProbe::loaded_at() {
  long a = metric("proxy.node.config.reconfigure_time");
  long b = metric("proxy.node.restarts.proxy.start_time");
  return std::max(a, b);
}

const std::string& PodProbe::diags_path() {
  if (!diags_.empty()) return diags_;
  std::string logdir = "/opt/trafficserver/var/log/trafficserver";
  PodExecResult li = run({dir_of(o_.traffic_ctl) + "traffic_layout", "info"});
  if (li.exit_code == 0) {
    std::istringstream in(li.out);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("LOGDIR:", 0) == 0) {
        std::string v = rstrip(line.substr(7));
        size_t a = v.find_first_not_of(' ');
        if (a != std::string::npos) logdir = v.substr(a);
      }
  }
  diags_ = logdir + "/diags.log";
  return diags_;
}

long PodProbe::diags_lines() {
  const std::string& d = diags_path();
  PodExecResult wc = run({"sh", "-c",
                          "if [ -r \"$1\" ]; then wc -l < \"$1\"; elif [ -d \"${1%/*}\" ]; then echo 0; else echo missing; fi",
                          "sh", d});
  return wc.exit_code == 0 ? to_long(rstrip(wc.out)) : -1;
}

std::vector<std::string> PodProbe::diags_from(long from) {
  PodExecResult tail = run({"sh", "-c", "tail -n +\"$2\" \"$1\" 2>/dev/null | head -c \"$3\"", "sh", diags_path(),
                            std::to_string(from), std::to_string(kMaxPodFile)});
  std::vector<std::string> out;
  std::istringstream in(tail.out);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string PodProbe::last_sni_load() {
  PodExecResult r = run({"sh", "-c", "grep -E 'sni.yaml (finished loading|failed to load)|ERROR.*sni.yaml' \"$1\" 2>/dev/null | tail -n 1 | head -c 4096",
                         "sh", diags_path()});
  return rstrip(r.out);
}

std::string PodProbe::connect_ports() {
  PodExecResult r = run({o_.traffic_ctl, "config", "get", "proxy.config.http.connect_ports"});
  if (r.exit_code != 0) return "";
  std::string v = rstrip(r.out);
  size_t c = v.find(": ");
  return c == std::string::npos ? "" : v.substr(c + 2);
}

bool sni_load_failed(const std::string& line) {
  return line.find("sni.yaml") != std::string::npos &&
         (line.find("failed to load") != std::string::npos || line.find("ERROR") != std::string::npos);
}

bool sni_load_finished(const std::string& line) { return line.find("sni.yaml finished loading") != std::string::npos; }

std::string records_connect_ports(const std::string& records_config) {
  const std::string key = "CONFIG proxy.config.http.connect_ports STRING ";
  std::istringstream in(records_config);
  std::string line, v;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) v = rstrip(line.substr(key.size()));
  return v;
}

}  // namespace fatectl::ops::detail
