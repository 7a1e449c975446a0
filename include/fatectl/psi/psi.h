#pragma once
// Private set intersection: how a guest and a host find the ids they have in common. Methods are
// pluggable (one file each under src/psi/, registered in psi.cc):
//   ecdh  (default) Diffie–Hellman PSI on Curve25519: the guest learns which of its ids the host
//         has, the host learns nothing about the guest's ids but their count; docs/psi.md.
//   raw   salted SHA-256 of the host's ids sent to the guest in the clear: the guest can test any
//         candidate id against them and so learns the host's whole id list. Kept for comparison.
// A run is between one guest and one host; with several hosts the guest runs one per host and
// intersects. Afterwards the guest tells each host which of its ids are common (the selection,
// FATE's sync_intersect_ids), so both train on the same rows in the same order.
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fatectl {
class ThreadPool;
}

namespace fatectl::psi {

/// How one side of a run reaches its peer: named messages, delivered in order (implemented over
/// fed::Channel by the caller, who adds cancellation and the job's timeout).
class Link {
 public:
  virtual ~Link() = default;
  virtual void send(const std::string& name, const std::string& payload) = 0;
  virtual std::string recv(const std::string& name) = 0;
  virtual std::string peer() const = 0;  ///< who is at the other end, for messages ("host 10000")
};

/// A debug record of what one side of a run sent and received, and its secret (docs/psi.md,
/// "Transcripts"): text lines "key hex". Never enabled by default.
class Transcript {
 public:
  explicit Transcript(const std::string& path);  ///< creates the file with mode 0600
  void line(const std::string& key, const std::string& value);
  /// One line "key hex" per value of `width` bytes.
  void values(const std::string& key, const uint8_t* data, size_t n, size_t width);

 private:
  std::mutex mu_;
  std::ofstream out_;
};

/// Settings both sides of a run share (the salt must be equal on both).
struct Settings {
  std::string salt;              ///< domain separation: "<job id>/<purpose>"
  ThreadPool* pool = nullptr;    ///< worker threads for hashing and blinding (required)
  size_t chunk = size_t(1) << 16;  ///< ids per message
  std::shared_ptr<Transcript> transcript;  ///< debug only
};

/// What the guest learns from a run with one host.
struct GuestResult {
  std::vector<int64_t> host_pos;  ///< per guest id: its position in the host's list, −1 if absent
  uint64_t host_count = 0;        ///< how many ids the host has
  size_t matched() const;
};

/// What a host keeps from a run: which row it sent at each position (its list is shuffled).
struct HostResult {
  std::vector<size_t> row_at;
  uint64_t guest_count = 0;  ///< how many ids the guest has
};

/// The guest's side of a method, prepared once for its ids and run with each host in turn.
class GuestSession {
 public:
  virtual ~GuestSession() = default;
  virtual GuestResult run(Link& host) = 0;
};

/// One intersection method.
class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  /// Whether the guest can test candidate ids against what it receives (raw: yes).
  virtual bool reveals_host_ids() const = 0;
  /// Hashes (and blinds) the guest's ids; the session then runs with each host.
  virtual std::unique_ptr<GuestSession> guest(const std::vector<std::string>& ids, const Settings& s) const = 0;
  /// The host's side of one run.
  virtual HostResult host(const std::vector<std::string>& ids, Link& guest, const Settings& s) const = 0;
};

/// The method called `name`; Invalid naming the known ones otherwise.
const Method& find_method(const std::string& name);
std::vector<std::string> method_names();

/// The selection: the positions, in a host's list, of the common ids in the agreed order.
std::string encode_selection(const std::vector<uint64_t>& positions);
/// The host's rows named by a selection; Failed (naming `from`) when a position is out of range
/// or repeated.
std::vector<size_t> decode_selection(const std::string& payload, const HostResult& h, const std::string& from);

}  // namespace fatectl::psi
