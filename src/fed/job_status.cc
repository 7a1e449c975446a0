// Party status records (OUT/<party>/status.json): writing, reading, summarising.
#include "fatectl/fed/job_status.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::fed {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "fatectl-job-status/1";

std::string hostname() {
  char b[256] = {};
  if (::gethostname(b, sizeof b - 1) != 0) return "";
  return b;
}

}  // namespace

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

YAML::Node PartyStatus::to_yaml() const {
  YAML::Node n;
  n["format"] = kFormat;
  n["job"] = yaml::str(job);
  n["party"] = party;
  n["role"] = role;
  n["state"] = state;
  n["step"] = yaml::str(step);
  if (!reason.empty()) n["reason"] = yaml::str(reason);
  if (cause_party) n["cause_party"] = cause_party;
  n["exit_code"] = exit_code;
  n["attempt"] = attempt;
  if (!checkpoint.empty()) n["checkpoint"] = yaml::str(checkpoint);
  n["host"] = yaml::str(host.empty() ? hostname() : host);
  n["pid"] = pid ? pid : (long)::getpid();
  n["started"] = yaml::str(started);
  n["updated"] = yaml::str(updated);
  return n;
}

PartyStatus PartyStatus::from_yaml(const YAML::Node& n, const std::string& file) {
  if (!n.IsMap() || !n["format"] || n["format"].Scalar() != kFormat)
    throw invalid(file + ": not a party status record (format: " + kFormat + ")");
  PartyStatus s;
  s.file = file;
  try {
    auto str = [&](const char* k) { return n[k] && n[k].IsScalar() ? n[k].Scalar() : std::string(); };
    s.job = str("job");
    s.party = n["party"].as<long>();
    s.role = str("role");
    s.state = str("state");
    s.step = str("step");
    s.reason = str("reason");
    s.cause_party = n["cause_party"] ? n["cause_party"].as<long>() : 0;
    s.exit_code = n["exit_code"] ? n["exit_code"].as<int>() : 0;
    s.attempt = n["attempt"] ? n["attempt"].as<int>() : 1;
    s.checkpoint = str("checkpoint");
    s.host = str("host");
    s.pid = n["pid"] ? n["pid"].as<long>() : 0;
    s.started = str("started");
    s.updated = str("updated");
  } catch (const YAML::Exception& e) {
    throw invalid(file + ": unreadable party status record (" + e.msg + ")");
  }
  if (s.state != "running" && s.state != "failed" && s.state != "succeeded")
    throw invalid(file + ": state must be running, failed or succeeded (got '" + s.state + "')");
  return s;
}

std::string PartyStatus::summary() const {
  if (state == "failed") return "failed" + (step.empty() ? std::string() : " at " + step) + ": " + reason;
  if (state == "running") return "running" + (step.empty() ? std::string() : " (" + step + ")");
  return state;
}

bool PartyStatus::process_gone() const {
  if (state != "running" || pid <= 0 || host != hostname()) return false;
  return ::kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void write_party_status(const std::string& path, const PartyStatus& s) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << yaml::to_json(s.to_yaml()) << "\n";
    f.flush();
    if (!f) throw failed(path + ": cannot write the party's status");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw failed(path + ": cannot write the party's status: " + ec.message());
}

std::optional<PartyStatus> read_party_status(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  YAML::Node n;
  try {
    n = yaml::load_file(path);
  } catch (const Error& e) {
    throw invalid(path + ": unreadable party status record (" + e.what() + ")");
  }
  return PartyStatus::from_yaml(n, path);
}

std::vector<PartyStatus> read_job_status(const std::string& out_dir) {
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec))
    throw invalid(out_dir + ": no such output directory (give the --out of `fatectl train`, default fatectl-out/<job id>)");
  std::vector<PartyStatus> v;
  for (auto& e : fs::directory_iterator(out_dir, ec)) {
    if (!e.is_directory(ec)) continue;
    std::string p = (e.path() / "status.json").string();
    if (auto s = read_party_status(p)) v.push_back(*s);
  }
  if (v.empty())
    throw invalid(out_dir + ": no party status records (OUT/<party>/status.json); parties write them when run with "
                            "`fatectl train --party-id` or `--local`");
  std::sort(v.begin(), v.end(), [](const PartyStatus& a, const PartyStatus& b) { return a.party < b.party; });
  return v;
}

}  // namespace fatectl::fed
