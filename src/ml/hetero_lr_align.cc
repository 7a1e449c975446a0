// Hetero LR id alignment: the one place where the guest and the hosts find their common rows and
// agree on their order (training, validation, prediction). Private set intersection comes from
// src/psi (intersect_method: ecdh by default); this file adds what the job needs around it:
// counts, the checks that refuse a job (min_intersect_*, one class, label leaks) and the verdict
// every party acts on, so that a refusal ends the job with exit 2 on every party. Message flow
// and what each party learns: docs/psi.md.
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/ml/data_checks.h"
#include "fatectl/ml/wire.h"
#include "fatectl/psi/psi.h"
#include "hetero_lr_common.h"

namespace fatectl::ml::detail::hlr {
namespace {

/// psi::Link over a party's channel to one peer; message names get a prefix.
class PartyLink : public psi::Link {
 public:
  PartyLink(Party& p, long peer, std::string prefix) : p_(p), peer_(peer), prefix_(std::move(prefix)) {}
  void send(const std::string& name, const std::string& payload) override { p_.send(peer_, prefix_ + name, payload); }
  std::string recv(const std::string& name) override { return p_.recv(peer_, prefix_ + name); }
  std::string peer() const override { return p_.job.role_of(peer_) + " " + std::to_string(peer_); }

 private:
  Party& p_;
  long peer_;
  std::string prefix_;
};

/// The most two-valued host columns the private label-copy check compares (docs/psi.md).
constexpr uint64_t kMaxLabelCandidates = 4096;

std::string who(const MlJob& job, long party) { return job.role_of(party) + " " + std::to_string(party); }

/// The data file a party aligns for `tag` (as the job file names it).
std::string data_file(const MlJob& job, long party, const std::string& tag) {
  size_t which = tag == "validate" || (tag == "predict" && job.has_data(party, 1)) ? 1 : 0;
  return job.has_data(party, which) ? job.data.at(party).at(which) : "(no data file)";
}

std::string rows_text(size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

std::string percent(size_t a, size_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", b ? 100.0 * double(a) / double(b) : 0.0);
  return buf;
}

/// Settings of one PSI run: salt "<job id>/<purpose>", this party's threads and, only when
/// FATECTL_PSI_TRANSCRIPT names a directory (debugging and the privacy tests), a transcript.
psi::Settings psi_settings(Party& p, const std::string& purpose) {
  psi::Settings s;
  s.salt = p.job.id + "/" + purpose;
  s.pool = &p.pool;
  const char* dir = std::getenv("FATECTL_PSI_TRANSCRIPT");
  if (dir && *dir) {
    std::string path = std::string(dir) + "/" + std::to_string(p.self) + "-" + purpose + ".psi";
    log::warn("party {}: FATECTL_PSI_TRANSCRIPT is set: writing this party's PSI secret and transcript to {} "
              "(debugging only, never on real data)",
              p.self, path);
    s.transcript = std::make_shared<psi::Transcript>(path);
  }
  return s;
}

/// A line for the operator of this party (RunOptions::on_note), also kept in train.log.
void say(Party& p, const std::string& line) {
  p.log(line);
  std::string full = "party " + std::to_string(p.self) + " (" + p.job.role_of(p.self) + "): " + line;
  if (p.opts.on_note) p.opts.on_note(p.self, full);
  else log::info("{}", full);
}

/// The answer at each step of the alignment: go on, or the job is refused and why.
struct Verdict {
  bool ok = true;
  std::string reason;
  std::string extra;  ///< rows: the selection; label check: the matching position
};

std::string encode(const Verdict& v) { return WireWriter().u64(v.ok ? 1 : 0).str(v.reason).str(v.extra).take(); }

Verdict decode(std::string b, const std::string& what) {
  WireReader r(std::move(b), what);
  Verdict v;
  v.ok = r.u64() != 0;
  v.reason = r.str();
  v.extra = r.str();
  r.done();
  return v;
}

void warn_if_raw(Party& p, const psi::Method& m) {
  if (!m.reveals_host_ids()) return;
  log::warn("party {}: intersect_method {} sends the guest a salted hash of every host id; the salt is not secret, so "
            "the guest can test any candidate id and learns each host's whole id list. Use ecdh (the default).",
            p.self, m.name());
  p.log("warning: intersect_method " + m.name() + " reveals the hosts' ids to the guest");
}

/// Why the guest ends the job: `reason` for the guest's own error and log, `told` for the hosts
/// and the arbiter (without the guest's column names, label facts or other hosts' counts).
struct Refusal {
  std::string reason, told;
  bool relayed = false;  ///< a host's refusal passed on: that host's own error is the original
  bool empty() const { return reason.empty(); }
};

/// The guest ends the job: tells every host (at `step`; not those that refused themselves and
/// have ended) and, in training, the arbiter.
[[noreturn]] void refuse(Party& p, const std::string& tag, const std::string& step, const Refusal& r,
                         const std::vector<long>& ended = {}) {
  Verdict v{false, r.told, ""};
  for (long h : p.job.hosts)
    if (std::find(ended.begin(), ended.end(), h) == ended.end()) p.send(h, "hlr/" + tag + "/" + step, encode(v));
  if (tag == "train") p.send(p.job.arbiter, "hlr/train/verdict", encode(v));
  p.flush();
  p.log("refused: " + r.reason);
  if (r.relayed) throw RelayedVerdict(ErrorKind::Invalid, r.reason);
  throw refused(r.reason);
}

/// What the others are told when the guest refuses its own data.
std::string guest_own_data(const MlJob& job) {
  return who(job, job.guest) + " refused its own training data (" + data_file(job, job.guest, "train") +
         "; its log says why)";
}

/// Refusal for an empty intersection, naming the files that share no id (the hosts are told
/// the files, not each other's overlap).
Refusal no_common_ids(const MlJob& job, const std::string& tag, const std::vector<size_t>& matched) {
  const std::string g = data_file(job, job.guest, tag) + " (guest " + std::to_string(job.guest) + ")";
  std::string all = g;
  for (long h : job.hosts) all += ", " + data_file(job, h, tag) + " (host " + std::to_string(h) + ")";
  Refusal r{"", "no id is common to every party: " + all};
  for (size_t k = 0; k < job.hosts.size() && r.reason.empty(); ++k)
    if (matched[k] == 0)
      r.reason = "no ids in common between " + g + " and " + data_file(job, job.hosts[k], tag) + " (host " +
                 std::to_string(job.hosts[k]) + "): check that both files use the same id column ('" + job.id_column +
                 "') and the same id format";
  if (r.reason.empty()) {
    std::string each;
    for (size_t k = 0; k < job.hosts.size(); ++k)
      each += (k ? ", " : "") + data_file(job, job.hosts[k], tag) + " " + std::to_string(matched[k]);
    r.reason = "no id of " + g + " is in every host's file (ids in common with each: " + each + ")";
  }
  if (job.hosts.size() == 1) r.told = r.reason;
  return r;
}

/// The training-only refusals once the common rows are known.
Refusal check_common_rows(const MlJob& job, const Dataset& guest_rows, size_t guest_total) {
  const IntersectParams& ip = job.intersect;
  size_t n = guest_rows.rows();
  std::string r;
  if (ip.min_rows > 0 && n < static_cast<size_t>(ip.min_rows))
    r = job.file + ": algorithm.params.min_intersect_rows: only " + rows_text(n) +
        " are common to every party, fewer than the " + std::to_string(ip.min_rows) + " the job requires";
  else if (ip.min_ratio > 0 && double(n) < ip.min_ratio * double(guest_total))
    r = job.file + ": algorithm.params.min_intersect_ratio: only " + std::to_string(n) + " of the guest's " +
        std::to_string(guest_total) + " rows (" + percent(n, guest_total) + ") are common to every party, below " +
        std::to_string(ip.min_ratio) + " of them";
  if (!r.empty()) return {r, r};  // the hosts learn the common count anyway
  r = one_class_problem(guest_rows, job.label_column, "the " + rows_text(n) + " common to every party");
  if (r.empty()) r = label_copy_problem(guest_rows, job.label_column);
  return {r, r.empty() ? "" : guest_own_data(job)};
}

/// The guest's side of the private label-copy check of host columns (docs/psi.md): an ECDH PSI
/// between {label bits, their complement} and each host's two-valued columns. Returns per host
/// the matching position in its (shuffled) list, or "".
std::vector<std::string> guest_label_check(Party& p, const Dataset& a, std::string& reason) {
  auto [y, ny] = label_bits(a);
  const psi::Method& ecdh = psi::find_method("ecdh");
  auto session = ecdh.guest({y, ny}, psi_settings(p, "train-label-check"));
  std::vector<std::string> hit;
  for (long h : p.job.hosts) {
    PartyLink link(p, h, "hlr/train/label-check/");
    psi::GuestResult r = session->run(link);
    // Each candidate tests one guess of the whole label vector: a host may not ask too many.
    if (r.host_count > kMaxLabelCandidates && reason.empty())
      reason = who(p.job, h) + " offered " + std::to_string(r.host_count) + " columns to the label-copy check, more than " +
               std::to_string(kMaxLabelCandidates) + ": refused (each would test a guess of the label)";
    std::string pos;
    for (int64_t q : r.host_pos)
      if (q >= 0) pos = std::to_string(q);
    hit.push_back(pos);
  }
  return hit;
}

/// The host's side: its two-valued columns on the common rows, padded with random values to a
/// multiple of 16 so that the guest learns little about how many there are.
void host_label_check(Party& p, const Dataset& a) {
  auto cols = two_valued_columns(a);
  std::vector<std::string> items;
  for (auto& c : cols) items.push_back(c.second);
  while (items.empty() || items.size() % 16 != 0) {
    std::string pad(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(pad.data()), 32) != 1) throw failed("OpenSSL RAND_bytes failed");
    items.push_back("pad|" + pad);  // never equal to a "v1|…" bit string
  }
  PartyLink link(p, p.job.guest, "hlr/train/label-check/");
  psi::HostResult r = psi::find_method("ecdh").host(items, link, psi_settings(p, "train-label-check"));
  Verdict v = decode(p.recv(p.job.guest, "hlr/train/verdict"), "verdict from the guest");
  if (v.ok) return;
  if (!v.extra.empty()) {
    size_t pos = std::strtoull(v.extra.c_str(), nullptr, 10);
    if (pos < r.row_at.size() && r.row_at[pos] < cols.size())
      throw refused(a.file + ":1: " + cols[r.row_at[pos]].first +
                    ": this column is a copy of the guest's label on the " + rows_text(a.rows()) +
                    " common to every party (found by the private label check): it would leak the label into the "
                    "model; remove it");
  }
  throw RelayedVerdict(ErrorKind::Invalid, "refused by " + who(p.job, p.job.guest) + ": " + v.reason);
}

}  // namespace

Dataset guest_intersect(Party& p, const Dataset& d, const std::string& tag) {
  const MlJob& job = p.job;
  const bool train = tag == "train";
  const psi::Method& method = psi::find_method(job.intersect.method);
  warn_if_raw(p, method);
  if (train) {
    // Checks before any id is hashed: the hosts' own (label column name), then the guest's.
    Refusal r;
    std::vector<long> ended;
    for (long h : job.hosts) {
      Verdict v = decode(p.recv(h, "hlr/train/status"), "status from " + who(job, h));
      if (v.ok) continue;
      ended.push_back(h);
      if (r.empty())
        r = {who(job, h) + " refused its data: " + v.reason, who(job, h) + " refused its own data (its log says why)", true};
    }
    if (r.empty()) {
      r.reason = one_class_problem(d, job.label_column, "the " + rows_text(d.rows()) + " of the file");
      if (r.empty()) r.reason = label_copy_problem(d, job.label_column);
      r.told = guest_own_data(job);
    }
    if (!r.empty()) refuse(p, tag, "go", r, ended);
    for (long h : job.hosts) p.send(h, "hlr/train/go", encode(Verdict{}));
  }

  // One PSI run per host; a row is common when every host has its id.
  auto session = method.guest(d.ids, psi_settings(p, tag));
  std::vector<psi::GuestResult> res;
  std::vector<size_t> matched;
  for (long h : job.hosts) {
    PartyLink link(p, h, "hlr/" + tag + "/psi/");
    res.push_back(session->run(link));
    matched.push_back(res.back().matched());
  }
  std::vector<size_t> rows;
  for (size_t i = 0; i < d.rows(); ++i) {
    bool all = true;
    for (auto& r : res) all = all && r.host_pos[i] >= 0;
    if (all) rows.push_back(i);
  }
  std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return d.ids[a] < d.ids[b]; });  // FATE's order

  const std::string head = "id alignment (" + tag + ", " + method.name() + "): ";
  say(p, head + std::to_string(rows.size()) + " of the guest's " + rows_text(d.rows()) + " are common to every party");
  for (size_t k = 0; k < job.hosts.size(); ++k)
    say(p, "  " + who(job, job.hosts[k]) + " has " + std::to_string(res[k].host_count) + " ids; " +
               std::to_string(matched[k]) + " of them match guest rows");
  if (!rows.empty() && rows.size() < d.rows())
    say(p, "partial overlap: " + rows_text(d.rows() - rows.size()) + " of the guest (" +
               percent(d.rows() - rows.size(), d.rows()) + ") have no match and are left out");

  Dataset a = d.select(rows);
  Refusal no = rows.empty() ? no_common_ids(job, tag, matched) : train ? check_common_rows(job, a, d.rows()) : Refusal{};
  if (!no.empty()) refuse(p, tag, "rows", no);
  for (size_t k = 0; k < job.hosts.size(); ++k) {
    std::vector<uint64_t> pos;
    pos.reserve(rows.size());
    for (size_t i : rows) pos.push_back(static_cast<uint64_t>(res[k].host_pos[i]));
    p.send(job.hosts[k], "hlr/" + tag + "/rows", encode(Verdict{true, "", psi::encode_selection(pos)}));
  }
  if (!train) return a;

  // Training: no host column may be a copy of the label (checked privately), then the verdict.
  std::string reason;
  std::vector<std::string> hit = guest_label_check(p, a, reason);
  std::string told = reason;
  for (size_t k = 0; k < job.hosts.size() && reason.empty(); ++k)
    if (!hit[k].empty()) {
      reason = "a feature column of " + who(job, job.hosts[k]) + " (" + data_file(job, job.hosts[k], tag) +
               ") is a copy of the label '" + job.label_column + "' on the " + rows_text(a.rows()) +
               " common to every party (the host's log names it): it would leak the label into the model; the host "
               "must remove it";
      told = "the private label check found a host column that copies the label (that host's log names it)";
    }
  for (size_t k = 0; k < job.hosts.size(); ++k)
    p.send(job.hosts[k], "hlr/train/verdict", encode(Verdict{reason.empty(), told, hit[k]}));
  p.send(job.arbiter, "hlr/train/verdict", encode(Verdict{reason.empty(), told, std::to_string(a.rows())}));
  if (!reason.empty()) {
    p.flush();
    p.log("refused: " + reason);
    // A host's copied column: that host's error names it (the original); a guest's own refusal otherwise.
    if (told != reason) throw RelayedVerdict(ErrorKind::Invalid, reason);
    throw refused(reason);
  }
  p.log("label check: no host column is a copy of the label");
  return a;
}

Dataset host_intersect(Party& p, const Dataset& d, const std::string& tag) {
  const MlJob& job = p.job;
  const bool train = tag == "train";
  const psi::Method& method = psi::find_method(job.intersect.method);
  warn_if_raw(p, method);
  if (train) {
    std::string problem = host_label_name_problem(d, job.label_column, job.intersect.allow_host_label_column);
    p.send(job.guest, "hlr/train/status", encode(Verdict{problem.empty(), problem, ""}));
    if (!problem.empty()) {
      p.flush();
      throw refused(problem);
    }
    Verdict go = decode(p.recv(job.guest, "hlr/train/go"), "answer from the guest");
    if (!go.ok) throw RelayedVerdict(ErrorKind::Invalid, "refused by " + who(job, job.guest) + ": " + go.reason);
  }
  PartyLink link(p, job.guest, "hlr/" + tag + "/psi/");
  psi::HostResult hr = method.host(d.ids, link, psi_settings(p, tag));
  Verdict v = decode(p.recv(job.guest, "hlr/" + tag + "/rows"), "rows from the guest");
  if (!v.ok) throw RelayedVerdict(ErrorKind::Invalid, "refused by " + who(job, job.guest) + ": " + v.reason);
  std::vector<size_t> rows = psi::decode_selection(v.extra, hr, who(job, job.guest));
  say(p, "id alignment (" + tag + ", " + method.name() + "): " + std::to_string(rows.size()) + " of the host's " +
             rows_text(d.rows()) + " are common to every party (the guest has " + std::to_string(hr.guest_count) +
             " ids)");
  if (rows.size() < d.rows())
    say(p, "partial overlap: " + rows_text(d.rows() - rows.size()) + " of the host (" +
               percent(d.rows() - rows.size(), d.rows()) + ") have no match and are left out");
  Dataset a = d.select(rows);
  if (train) host_label_check(p, a);
  return a;
}

void arbiter_alignment(Party& p) {
  Verdict v = decode(p.recv(p.job.guest, "hlr/train/verdict"), "verdict from the guest");
  if (!v.ok) throw RelayedVerdict(ErrorKind::Invalid, "refused during id alignment (" + who(p.job, p.job.guest) + "): " + v.reason);
  p.log("id alignment: " + v.extra + " rows common to every party");
}

}  // namespace fatectl::ml::detail::hlr
