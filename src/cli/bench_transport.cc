// fatectl bench transport: TLS frame round trips and stream throughput between two parties.
#include <cstdio>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/bench.h"

namespace fatectl::cli {

// The `bench` group itself belongs to bench.cc (bench_command()).

namespace {
struct BenchOpts {
  std::string bytes = "256Mi", frame = "64", chunk, window, listen = "127.0.0.1:0", exchange, certs, domain = "fate.org";
  int rounds = 1000;
};
}  // namespace

void add_bench_transport_command(CLI::App& root, GlobalOptions& g) {
  CLI::App* bench = bench_command(root);
  auto o = std::make_shared<BenchOpts>();
  CLI::App* t = bench->add_subcommand("transport", "Party-to-party TLS transport: small-frame round trips and one large stream");
  t->add_option("--bytes", o->bytes, "size of the streamed message (e.g. 256Mi)")->capture_default_str();
  t->add_option("--rounds", o->rounds, "number of small-frame round trips")->capture_default_str();
  t->add_option("--frame-bytes", o->frame, "size of each small frame")->capture_default_str();
  t->add_option("--chunk-bytes", o->chunk, "payload bytes per frame of the stream (default 1Mi)");
  t->add_option("--window-bytes", o->window, "unacknowledged bytes in flight (default 32Mi)");
  t->add_option("--listen", o->listen, "the responder's listener (fix the port when going through an Exchange)")
      ->capture_default_str();
  t->add_option("--exchange", o->exchange, "connect through this Exchange (host:port) with SNI 10000.<domain>");
  t->add_option("--domain", o->domain, "federation domain")->capture_default_str();
  t->add_option("--certs", o->certs, "certificates dir with ca.crt and 9999/10000 certs (default: a throwaway CA)");
  t->footer(
      "Party 9999 (guest) and party 10000 (host) run in this process over real TLS 1.3 sockets with mutual\n"
      "authentication: the guest pings (--rounds frames of --frame-bytes), then streams --bytes bytes that the\n"
      "host hashes (SHA-256) and confirms. Through an Exchange, its sni table must tunnel 10000.<domain> to\n"
      "--listen (scripts/bench-transport.sh starts a private Traffic Server for that).\n\n"
      "Examples:\n"
      "  fatectl bench transport\n"
      "  fatectl bench transport --bytes 1Gi --rounds 5000\n"
      "  fatectl bench transport --listen 127.0.0.1:19001 --exchange 127.0.0.1:18443 --certs certs\n");
  t->callback([o, &g] {
    fed::TransportBenchOptions b;
    b.domain = o->domain;
    b.certs_dir = o->certs;
    b.listen = fed::parse_endpoint(o->listen, "--listen");
    if (!o->exchange.empty()) {
      b.via_exchange = true;
      b.exchange = fed::parse_endpoint(o->exchange, "--exchange");
    }
    b.params.rounds = o->rounds;
    b.params.frame_bytes = fed::parse_size(o->frame);
    b.params.stream_bytes = fed::parse_size(o->bytes);
    if (!o->chunk.empty()) b.transport.chunk_bytes = fed::parse_size(o->chunk);
    if (!o->window.empty()) b.transport.window_bytes = fed::parse_size(o->window);
    if (b.transport.chunk_bytes + 4096 > b.transport.max_frame_bytes) b.transport.max_frame_bytes = b.transport.chunk_bytes + 4096;
    b.transport.message_timeout = std::chrono::minutes(10);
    auto r = fed::bench_transport(b);
    std::string path = b.via_exchange ? "exchange " + b.exchange.str() : "direct";
    YAML::Node n;
    n["path"] = path;
    n["rounds"] = r.rounds;
    n["frameBytes"] = b.params.frame_bytes;
    n["rttP50Ms"] = r.rtt_p50_ms;
    n["rttP99Ms"] = r.rtt_p99_ms;
    n["streamBytes"] = r.stream_bytes;
    n["streamSeconds"] = r.stream_seconds;
    n["mibPerSecond"] = r.mib_per_s;
    n["sha256Match"] = r.digest_ok;
    if (g.format() == output::Format::Table) {
      std::printf("transport (%s, TLS 1.3 mutual auth, chunk %llu B)\n", path.c_str(), (unsigned long long)b.transport.chunk_bytes);
      std::printf("  round trip, %d x %llu B frames: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", r.rounds,
                  (unsigned long long)b.params.frame_bytes, r.rtt_p50_ms, r.rtt_p99_ms, r.rtt_max_ms);
      std::printf("  stream of %.1f MiB: %.3f s = %.1f MiB/s (sha256 %s)\n", r.stream_bytes / 1048576.0, r.stream_seconds,
                  r.mib_per_s, r.digest_ok ? "match" : "MISMATCH");
    } else {
      output::print(g.format(), n);
    }
    if (!r.digest_ok) throw failed("bench transport: the host received a different stream");
  });
}

}  // namespace fatectl::cli
