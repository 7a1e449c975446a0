#pragma once
// A party's record of where its run of a job stands — running, failed at step S with reason R, or
// succeeded — kept in its output directory (OUT/<party>/status.json, fatectl-job-status/1) by the
// party runtime (run_control.h) and read by `fatectl job status OUT` and `train --retry`.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

namespace fatectl::fed {

/// One party's status record.
struct PartyStatus {
  std::string job;
  long party = 0;
  std::string role;
  std::string state = "running";  ///< running | failed | succeeded
  std::string step;               ///< where it is, or where it failed ("epoch 10, batch 3")
  std::string reason;             ///< failed: why (one line)
  long cause_party = 0;           ///< failed because another party failed: that party
  int exit_code = 0;
  int attempt = 1;                ///< 1 for the first run, +1 for each --resume/--retry
  std::string checkpoint;         ///< the last checkpoint written, e.g. "epoch 5"
  std::string host;               ///< where the process runs (hostname)
  long pid = 0;
  std::string started, updated;   ///< UTC, ISO 8601
  std::string file;               ///< where it was read from (not stored)

  YAML::Node to_yaml() const;
  /// Throws Invalid naming `file` when the record is not a status record.
  static PartyStatus from_yaml(const YAML::Node& n, const std::string& file);
  /// "failed at epoch 10, batch 3: reason", "succeeded", "running (epoch 4)".
  std::string summary() const;
  /// A "running" record whose process is gone: same host, and no process `pid` exists.
  bool process_gone() const;
};

/// Writes the record atomically (temporary file, then rename).
void write_party_status(const std::string& path, const PartyStatus& s);
/// The record at `path`, or nothing when there is none; Invalid when it cannot be read.
std::optional<PartyStatus> read_party_status(const std::string& path);
/// Every OUT/<party>/status.json, by party id; Invalid when OUT does not exist or holds none.
std::vector<PartyStatus> read_job_status(const std::string& out_dir);
/// The current UTC time, ISO 8601 ("2025-03-01T14:03:12Z").
std::string utc_now();

}  // namespace fatectl::fed
