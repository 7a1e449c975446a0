#pragma once
// The job file: who takes part in a federated job, how to reach each party (directly or through
// the Exchange by SNI), which certificates to use, and which program (algorithm) to run.
// Format: docs/job-file.md; example: examples/jobs/.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fatectl/core/error.h"

namespace fatectl::fed {

/// A party's role in FATE's vocabulary.
enum class Role { Guest, Host, Arbiter };
const char* role_name(Role r);
/// "guest"/"host"/"arbiter" → Role; throws Invalid otherwise.
Role parse_role(const std::string& s);

/// A TCP endpoint "host:port" (IPv6 literals as "[::1]:9443").
struct Endpoint {
  std::string host;
  int port = 0;
  std::string str() const;
};
/// Parses "host:port"; the error names `what` (e.g. "parties[0].listen").
Endpoint parse_endpoint(const std::string& s, const std::string& what);

/// How to reach one party: straight to its listener, or to the Exchange (Apache Traffic Server),
/// which tunnels the TLS connection by its SNI name `<partyId>.<domain>` to the party.
struct Route {
  enum class Via { Direct, Exchange };
  long party = 0;
  Via via = Via::Direct;
  Endpoint endpoint;  ///< where to connect
  std::string sni;    ///< always "<partyId>.<domain>" (the name the peer's certificate must carry)
  Location where;     ///< where the route was written (empty when derived from `listen`)
  std::string str() const;  ///< "direct 127.0.0.1:9444" or "exchange 10.0.0.5:443 (sni 10000.fate.org)"
};

/// One party of the job.
struct PartySpec {
  long id = 0;
  Role role = Role::Host;
  Endpoint listen;                 ///< where this party's TLS listener binds
  std::vector<std::string> data;   ///< data files (resolved against the job file's directory)
  Location where;
};

/// Limits and timeouts of the TLS transport (job file `transport:`).
struct TransportSettings {
  std::uint64_t max_frame_bytes = 16ull << 20;     ///< largest frame a receiver accepts (header + payload)
  std::uint64_t chunk_bytes = 1ull << 20;          ///< payload bytes per frame when a message is split
  std::uint64_t max_message_bytes = 4ull << 30;    ///< largest message a sender accepts
  std::uint64_t window_bytes = 32ull << 20;        ///< unacknowledged bytes a sender keeps in flight
  std::chrono::milliseconds connect_timeout{120'000};  ///< wait this long for a peer to come up (unsupervised: for any reconnect)
  std::chrono::milliseconds handshake_timeout{15'000};
  std::chrono::milliseconds ack_timeout{60'000};       ///< no ack progress this long: reconnect
  std::chrono::milliseconds message_timeout{3'600'000};  ///< default wait for one message
  std::chrono::milliseconds close_timeout{30'000};       ///< wait for acks when a party finishes
  std::chrono::milliseconds heartbeat_interval{10'000};  ///< supervised: a heartbeat to each peer this often
  std::chrono::milliseconds peer_dead_timeout{300'000};  ///< supervised: a peer silent this long is dead (liveness.h)
};

/// A parsed, validated job file.
struct Job {
  std::string file;          ///< the job file's path
  std::string id;            ///< job id, tags every frame
  std::string domain;        ///< federation domain, e.g. fate.org
  std::string certs_dir;     ///< directory with ca.crt and <party>.crt/.key (resolved)
  std::chrono::seconds timeout{72 * 3600};  ///< whole-job deadline (FATE's default is 72 h)
  std::vector<PartySpec> parties;
  std::map<long, Route> routes;  ///< explicit routes by party id
  bool has_default_exchange = false;
  Endpoint default_exchange;     ///< `routes.default: {exchange: host:port}`
  std::string algorithm;         ///< program name (`algorithm.name`)
  Location algorithm_where;      ///< where `algorithm.name` is written
  YAML::Node params;             ///< `algorithm.params`, opaque to fed/
  Location params_where;
  TransportSettings transport;
  YAML::Node source;             ///< the whole document as read

  const PartySpec& party(long id) const;  ///< throws Invalid naming the job file
  bool has_party(long id) const;
  /// How to reach `party`: its route, else the default exchange, else its listen address.
  Route route_to(long party) const;
  std::vector<long> party_ids() const;
  /// The id of the party with this role (first one), or 0.
  long first_with_role(Role r) const;
};

/// Reads and validates a job file; errors are Invalid and name file:line:col and the key.
Job load_job(const std::string& path);
/// Same from an already parsed document (`file` is used in messages and to resolve paths).
Job parse_job(const YAML::Node& doc, const std::string& file);

/// "16Mi", "1MiB", "65536", "2G" → bytes; "72h", "30s", "500ms", "3600" → duration.
std::uint64_t parse_size(const std::string& s);
std::chrono::milliseconds parse_duration(const std::string& s);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace fatectl::fed
