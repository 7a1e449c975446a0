// fatectl bench psi: private set intersection over the real TLS transport, against OpenSSL's own
// X25519 speed measured in the same run.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/psi/bench.h"

namespace fatectl::cli {

void add_bench_psi_command(CLI::App& root, GlobalOptions& g) {
  auto o = std::make_shared<psi::BenchOptions>();
  CLI::App* b = bench_command(root)->add_subcommand(
      "psi", "Id alignment (private set intersection): guest and host with N ids each, half common, over TLS");
  b->add_option("--rows", o->rows, "ids per party (half of them common)")->capture_default_str();
  b->add_option("--method", o->method, "ecdh (the default of hetero jobs) or raw")
      ->check(CLI::IsMember({"ecdh", "raw"}))
      ->capture_default_str();
  b->add_option("--threads", o->threads, "worker threads per party (0 = all cores)")->capture_default_str();
  b->add_option("--chunk", o->chunk, "ids per message")->capture_default_str();
  b->add_option("--openssl-seconds", o->openssl_seconds, "CPU seconds to time OpenSSL's X25519 for the ratio")
      ->capture_default_str();
  b->footer(
      "Party 9999 (guest, ids 0..N-1) and party 10000 (host, ids N/2..3N/2-1) run the intersection of a hetero\n"
      "job in this process over real TLS 1.3 sockets: hash onto Curve25519, blind, exchange in messages of\n"
      "--chunk ids, blind again, match, and the guest's selection of the host's rows. The result is checked.\n"
      "Beside the wall time it prints OpenSSL's single-thread X25519 rate measured in the same run (the figure\n"
      "`openssl speed ecdhx25519` gives) and the ratio of the PSI's X25519 rate per CPU-second to it, and the\n"
      "load average before and after: on a shared machine, compare runs at similar load.\n\n"
      "Examples:\n"
      "  fatectl bench psi --rows 100000\n"
      "  fatectl bench psi --rows 1000000 -o json      # the 1M x 1M figure (scripts/bench-psi.sh)\n"
      "  fatectl bench psi --rows 100000 --method raw\n");
  b->callback([o, &g] {
    psi::BenchResult r = psi::bench_psi(*o);
    if (!r.correct) throw failed("bench psi: the intersection is wrong");
    double per_cpu = r.cpu_seconds > 0 ? r.x25519_ops / r.cpu_seconds : 0;
    YAML::Node n;
    n["benchmark"] = "psi";
    n["method"] = o->method;
    n["rows"] = r.rows;
    n["common"] = r.common;
    n["threadsPerParty"] = r.threads;
    n["seconds"] = r.seconds;
    n["guestPrepareSeconds"] = r.guest_prepare_seconds;
    n["idsPerSecond"] = r.seconds > 0 ? 2.0 * double(r.rows) / r.seconds : 0;
    n["cpuSeconds"] = r.cpu_seconds;
    n["coresUsed"] = r.seconds > 0 ? r.cpu_seconds / r.seconds : 0;
    n["bytesOverTls"] = r.bytes_sent;
    if (r.x25519_ops > 0) {
      n["x25519Ops"] = r.x25519_ops;
      n["x25519PerCpuSecond"] = per_cpu;
      n["opensslX25519PerSecond"] = r.openssl_x25519_per_s;
      n["ratioToOpenssl"] = r.openssl_x25519_per_s > 0 ? per_cpu / r.openssl_x25519_per_s : 0;
    }
    n["loadAverageBefore"] = r.load_before;
    n["loadAverageAfter"] = r.load_after;
    n["correct"] = r.correct;
    if (g.format() != output::Format::Table) {
      output::print(g.format(), n);
      return;
    }
    std::printf("PSI %s, %zu x %zu ids (%zu common), %u threads per party, over TLS 1.3: %.2f s wall "
                "(guest's own ids %.2f s), %.0f ids/s, result checked\n",
                o->method.c_str(), r.rows, r.rows, r.common, r.threads, r.seconds, r.guest_prepare_seconds,
                r.seconds > 0 ? 2.0 * double(r.rows) / r.seconds : 0.0);
    std::printf("CPU %.2f s over %.2f s wall (%.2f cores used); %.1f MiB over TLS; load average %.2f before, %.2f after\n",
                r.cpu_seconds, r.seconds, r.seconds > 0 ? r.cpu_seconds / r.seconds : 0.0, r.bytes_sent / 1048576.0,
                r.load_before, r.load_after);
    if (r.x25519_ops > 0)
      std::printf("X25519: %.0f operations, %.0f per CPU-second; OpenSSL alone (one thread, this run): %.0f/s; "
                  "ratio %.2f (hashing onto the curve, messages and matching included)\n",
                  r.x25519_ops, per_cpu, r.openssl_x25519_per_s,
                  r.openssl_x25519_per_s > 0 ? per_cpu / r.openssl_x25519_per_s : 0.0);
  });
}

}  // namespace fatectl::cli
