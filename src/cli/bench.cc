// fatectl bench: micro-benchmarks of fatectl's engines. This file owns the `bench` group and
// `bench paillier`; other groups add their own subcommands through bench_command(root).
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/core/yaml.h"
#include "fatectl/he/encoding.h"
#include "fatectl/he/paillier.h"

namespace fatectl::cli {

namespace {

double wall_now() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}
double process_cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}
double thread_cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

struct PaillierBenchOptions {
  unsigned bits = 2048;
  unsigned threads = 1;
  std::string obfuscation = "fixed-base";
  unsigned exponent_bits = 0;
  double min_time = 0.3;
  int runs = 3;
  size_t rows = 1000, features = 30;
  bool skip_naive = false;
};

/// One measured operation: ops/s as the median (and best) of `runs` timed runs.
struct Result {
  std::string name, note;
  double median = 0, best = 0;
  size_t ops = 0;
  double cpus = 0;  ///< several threads: process CPU time / wall time over all runs (how many cores we got)
};

/// Times `step` (which performs `per_step` operations) for at least min_time per run.
/// One thread: thread CPU time (other jobs on a shared machine do not count against us);
/// several threads: wall-clock time with all threads working.
Result measure(const std::string& name, const PaillierBenchOptions& o, size_t per_step,
               const std::function<void()>& step, const std::string& note = "") {
  bool cpu = o.threads == 1;
  std::vector<double> rates;
  Result r{name, note};
  double wall_total = 0, cpu_total = 0;
  for (int run = 0; run < o.runs; ++run) {
    const double w0 = wall_now(), c0 = process_cpu_now();
    double t0 = cpu ? thread_cpu_now() : wall_now();
    size_t done = 0;
    double el = 0;
    do {
      step();
      done += per_step;
      el = (cpu ? thread_cpu_now() : wall_now()) - t0;
    } while (el < o.min_time);
    rates.push_back(double(done) / el);
    r.ops += done;
    wall_total += wall_now() - w0;
    cpu_total += process_cpu_now() - c0;
  }
  if (!cpu && wall_total > 0) r.cpus = cpu_total / wall_total;
  std::sort(rates.begin(), rates.end());
  r.median = rates[rates.size() / 2];
  r.best = rates.back();
  log::info("bench paillier: {}: {:.1f} ops/s", name, r.median);
  return r;
}

std::string fmt_rate(double v) {
  if (v >= 100) return fmt::format("{:.0f}", v);
  if (v >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

/// A figure for JSON: four significant digits below 1000, whole numbers above, printed in the
/// shortest form that reads back exactly (2368, 846.3, 1.463; never 3.6000000000000001).
std::string json_figure(double v) {
  if (!std::isfinite(v)) return "0";
  double r = std::abs(v) >= 1000 ? std::round(v) : std::stod(fmt::format("{:.4g}", v));
  return fmt::format("{}", r);
}

void run_paillier_bench(const PaillierBenchOptions& o, GlobalOptions& g) {
  if (o.bits != 1024 && o.bits != 2048 && o.bits != 3072 && o.bits != 4096)
    throw invalid("--bits must be 1024, 2048, 3072 or 4096");
  he::Obfuscation mode = he::parse_obfuscation(o.obfuscation);
  if (o.threads == 0 || o.threads > 256) throw invalid("--threads must be between 1 and 256");
  if (o.rows == 0 || o.features == 0) throw invalid("--rows and --features must be positive");
  ThreadPool pool(o.threads);
  std::vector<Result> results;
  std::mt19937_64 rng(20240607);

  he::KeyOptions ko;
  ko.bits = o.bits;
  ko.allow_insecure = true;  // 1024-bit keys are benchmarked, never stored
  ko.obfuscation = mode;
  ko.exponent_bits = o.exponent_bits;
  log::progress(fmt::format("bench paillier: keygen ({} bits)", o.bits));
  std::vector<he::KeyPair> keys;
  {
    PaillierBenchOptions ok = o;
    ok.runs = 1;
    ok.min_time = std::max(0.5, o.min_time);
    if (o.threads == 1) {
      results.push_back(measure("keygen", ok, 1, [&] { keys.push_back(he::KeyPair::generate(ko)); }, "2 random primes"));
    } else {
      results.push_back(measure("keygen", ok, o.threads, [&] {
        std::vector<he::KeyPair> kps(o.threads);
        pool.parallel_for(o.threads, [&](size_t b, size_t e, unsigned) {
          for (size_t i = b; i < e; ++i) kps[i] = he::KeyPair::generate(ko);
        });
        for (auto& k : kps) keys.push_back(std::move(k));
      }, "2 random primes"));
    }
  }
  he::KeyPair kp = keys.front();
  const he::PublicKey& pk = kp.pub;
  unsigned eb = pk.exponent_bits();
  std::string mode_note = mode == he::Obfuscation::FixedBase ? fmt::format("fixed-base, {}-bit exponent", eb)
                                                             : std::string(he::to_string(mode));
  // Fixed-base tables are built once per public key; time that separately.
  if (mode == he::Obfuscation::FixedBase) {
    double t0 = wall_now();
    (void)pk.encrypt(int64_t(1));
    Result r{"fixed-base table", fmt::format("one-time per key, {:.0f} ms", (wall_now() - t0) * 1e3)};
    r.median = r.best = 1.0 / (wall_now() - t0);
    r.ops = 1;
    results.push_back(r);
    // The key holder's tables mod p² and q² are built on its first encryption too.
    t0 = wall_now();
    (void)kp.priv.encrypt(int64_t(1));
    Result rk{"fixed-base tables (key holder)", fmt::format("one-time per key, mod p² and q², {:.0f} ms", (wall_now() - t0) * 1e3)};
    rk.median = rk.best = 1.0 / (wall_now() - t0);
    rk.ops = 1;
    results.push_back(rk);
  }

  const size_t B = 64 * o.threads;  // batch per step for the multi-threaded paths
  std::vector<int64_t> vals(B);
  for (auto& v : vals) v = static_cast<int64_t>(rng() >> 1) - (INT64_MAX / 2);
  std::vector<he::Ciphertext> cts;
  log::progress("bench paillier: encrypt");
  if (o.threads == 1) {
    size_t i = 0;
    results.push_back(measure("encrypt", o, 1, [&] { (void)pk.encrypt(vals[i++ % B]); }, mode_note));
    he::PrivateKey sk = kp.priv;
    results.push_back(measure("encrypt (key holder, CRT)", o, 1, [&] { (void)sk.encrypt(vals[i++ % B]); }, mode_note));
  } else {
    results.push_back(measure("encrypt", o, B, [&] { (void)he::encrypt_batch(pk, vals, pool); }, mode_note));
    results.push_back(measure("encrypt (key holder, CRT)", o, B, [&] { (void)he::encrypt_batch(kp.priv, vals, pool); }, mode_note));
  }
  cts = he::encrypt_batch(pk, vals, pool);
  {
    // Textbook for comparison when the chosen mode is fixed-base (FATE's algorithm).
    if (mode != he::Obfuscation::Textbook) {
      he::PublicKey tb = pk;
      tb.set_obfuscation(he::Obfuscation::Textbook);
      PaillierBenchOptions ot = o;
      ot.runs = std::min(o.runs, 2);
      if (o.threads == 1) {
        size_t i = 0;
        results.push_back(measure("encrypt (textbook r^n)", ot, 1, [&] { (void)tb.encrypt(vals[i++ % B]); }, "FATE's algorithm"));
      } else {
        results.push_back(measure("encrypt (textbook r^n)", ot, B, [&] { (void)he::encrypt_batch(tb, vals, pool); }, "FATE's algorithm"));
      }
    }
  }
  log::progress("bench paillier: decrypt");
  if (o.threads == 1) {
    size_t i = 0;
    results.push_back(measure("decrypt", o, 1, [&] { (void)kp.priv.decrypt_signed(cts[i++ % B]); }, "CRT mod p², q²"));
  } else {
    results.push_back(measure("decrypt", o, B, [&] { (void)he::decrypt_batch(kp.priv, cts, pool); }, "CRT mod p², q²"));
  }
  // Cheap operations: batch them in both modes so the loop overhead stays small.
  // Several threads: one step touches each of the B accumulators once, so no two threads ever
  // update the same ciphertext (`op` writes acc[i % B]).
  auto batched = [&](const std::string& name, const std::string& note, const std::function<void(size_t)>& op) {
    size_t per = o.threads == 1 ? 256 : B;
    if (o.threads == 1) {
      results.push_back(measure(name, o, per, [&] {
        for (size_t i = 0; i < per; ++i) op(i);
      }, note));
    } else {
      results.push_back(measure(name, o, per, [&] {
        pool.parallel_for(per, [&](size_t b, size_t e, unsigned) {
          for (size_t i = b; i < e; ++i) op(i);
        });
      }, note));
    }
  };
  log::progress("bench paillier: add, multiply");
  std::vector<he::Ciphertext> acc(B);
  for (size_t i = 0; i < B; ++i) acc[i] = cts[i];
  batched("add", "ciphertext + ciphertext", [&](size_t i) { pk.add_inplace(acc[i % B], cts[(i + 1) % B]); });
  batched("add plain", "ciphertext + plaintext", [&](size_t i) { acc[i % B] = pk.add_plain(acc[i % B], vals[i % B]); });
  std::vector<int64_t> k23(B), k63(B);
  for (size_t i = 0; i < B; ++i) {
    k23[i] = static_cast<int64_t>(rng() & ((1u << 23) - 1)) * ((i & 1) ? -1 : 1);
    k63[i] = static_cast<int64_t>(rng() >> 1) * ((i & 1) ? -1 : 1);
  }
  {
    PaillierBenchOptions om = o;
    auto mul = [&](const std::string& name, const std::vector<int64_t>& k, const std::string& note) {
      if (o.threads == 1) {
        size_t i = 0;
        results.push_back(measure(name, om, 1, [&] { (void)pk.mul_scalar(cts[i % B], k[i % B]); ++i; }, note));
      } else {
        results.push_back(measure(name, om, B, [&] {
          pool.parallel_for(B, [&](size_t b, size_t e, unsigned) {
            for (size_t i = b; i < e; ++i) (void)pk.mul_scalar(cts[i], k[i]);
          });
        }, note));
      }
    };
    mul("mul k23", k23, "ciphertext × 23-bit scalar (half negative)");
    mul("mul k63", k63, "ciphertext × 63-bit scalar (half negative)");
  }
  {
    log::progress("bench paillier: rerandomize");
    size_t i = 0;
    if (o.threads == 1)
      results.push_back(measure("rerandomize", o, 1, [&] { pk.rerandomize_inplace(acc[i++ % B]); }, mode_note));
  }

  // Gradient kernel: rows ciphertexts × features scaled features.
  log::progress(fmt::format("bench paillier: gradient kernel {}×{}", o.rows, o.features));
  he::ScaledCodec codec(23);
  std::vector<double> d(o.rows);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (auto& v : d) v = unit(rng) * 0.5;
  std::vector<he::Ciphertext> ed = he::encrypt_scaled(pk, d, codec, pool);
  std::vector<double> xf(o.rows * o.features);
  for (auto& v : xf) v = unit(rng) * 3.0;
  std::vector<int64_t> xi = codec.encode(xf);
  std::vector<he::Ciphertext> fast, naive;
  PaillierBenchOptions ok = o;
  ok.runs = std::min(o.runs, 2);
  ok.min_time = 0;
  Result rk = measure("gradient kernel", ok, 1, [&] { fast = he::weighted_sums(pk, ed, xi, o.features, pool); },
                      fmt::format("{}×{} multi-exponentiation", o.rows, o.features));
  results.push_back(rk);
  if (!o.skip_naive) {
    PaillierBenchOptions on = ok;
    on.runs = 1;
    Result rn = measure("gradient kernel (naive)", on, 1,
                        [&] { naive = he::weighted_sums_naive(pk, ed, xi, o.features, pool); },
                        "one scalar multiplication at a time");
    results.push_back(rn);
    if (!(fast == naive)) throw failed("bench paillier: the gradient kernel disagrees with the naive products");
  }
  // Check the kernel decrypts to the plaintext result.
  {
    std::vector<double> got = he::decrypt_scaled(kp.priv, fast, codec, 2, pool);
    for (size_t j = 0; j < o.features; ++j) {
      long double want = 0;
      for (size_t i = 0; i < o.rows; ++i)
        want += static_cast<long double>(codec.encode(d[i])) * static_cast<long double>(xi[i * o.features + j]);
      double w = static_cast<double>(want / 70368744177664.0L);  // 2^46
      if (std::abs(got[j] - w) > 1e-9 * std::max(1.0, std::abs(w)))
        throw failed(fmt::format("bench paillier: kernel column {} decrypts to {} instead of {}", j, got[j], w));
    }
  }
  log::progress_done();

  // Report.
  double kernel_ratio = 0;
  const Result* kf = nullptr;
  const Result* kn = nullptr;
  for (auto& r : results) {
    if (r.name == "gradient kernel") kf = &r;
    if (r.name == "gradient kernel (naive)") kn = &r;
  }
  if (kf && kn && kn->median > 0) kernel_ratio = kf->median / kn->median;

  YAML::Node root;
  root["benchmark"] = "paillier";
  root["bits"] = o.bits;
  root["threads"] = o.threads;
  root["obfuscation"] = he::to_string(mode);
  if (mode == he::Obfuscation::FixedBase) root["exponentBits"] = eb;
  root["clock"] = o.threads == 1 ? "thread-cpu" : "wall";
  root["arithmetic"] = he::arithmetic_engine();
  root["runs"] = o.runs;
  output::Table t;
  t.headers = {"OPERATION", "OPS/S", "BEST", "µS/OP", "CPUS", "NOTE"};
  for (auto& r : results) {
    YAML::Node e;
    e["name"] = r.name;
    e["opsPerSec"] = json_figure(r.median);
    e["bestOpsPerSec"] = json_figure(r.best);
    e["usPerOp"] = json_figure(1e6 / r.median);
    if (r.cpus > 0) e["cpusUsed"] = json_figure(r.cpus);
    if (!r.note.empty()) e["note"] = r.note;
    root["results"].push_back(e);
    t.rows.push_back({r.name, fmt_rate(r.median), fmt_rate(r.best), fmt::format("{:.1f}", 1e6 / r.median),
                      r.cpus > 0 ? fmt::format("{:.2f}", r.cpus) : std::string("1"), r.note});
  }
  if (kernel_ratio > 0) {
    root["kernelSpeedup"] = json_figure(kernel_ratio);
    t.rows.push_back({"kernel speedup", fmt::format("{:.2f}×", kernel_ratio), "", "", "", "multi-exponentiation vs naive"});
  }
  if (g.format() == output::Format::Table) {
    std::printf("Paillier %u-bit, %u thread%s, %s clock, median of %d runs, %s\n", o.bits, o.threads,
                o.threads == 1 ? "" : "s", o.threads == 1 ? "thread CPU" : "wall", o.runs, he::arithmetic_engine());
  }
  output::print(g.format(), root, t);
}

}  // namespace

CLI::App* bench_command(CLI::App& root) {
  for (CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == "bench") return sub;
  CLI::App* b = root.add_subcommand("bench", "Measure fatectl's engines on this machine (crypto, rendering, transport, training)");
  b->require_subcommand(1);
  b->footer(
      "Benchmarks print ops/s; use -o json for machine-readable output. On a shared machine, run\n"
      "them a few times and compare the best figures.");
  return b;
}

void add_bench_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* bench = bench_command(root);
  auto o = std::make_shared<PaillierBenchOptions>();
  CLI::App* p = bench->add_subcommand(
      "paillier",
      "Paillier throughput: keygen, encrypt, decrypt, add, scalar multiply and the LR gradient kernel");
  p->add_option("--bits", o->bits, "modulus size n in bits: 1024, 2048, 3072 or 4096")->capture_default_str();
  p->add_option("--threads", o->threads, "worker threads (1 = single core, timed by thread CPU time)")->capture_default_str();
  p->add_option("--obfuscation", o->obfuscation, "randomness for encrypt: textbook (r^n, FATE's) or fixed-base (DJN)")
      ->check(CLI::IsMember({"textbook", "fixed-base"}))
      ->capture_default_str();
  p->add_option("--exponent-bits", o->exponent_bits, "fixed-base exponent size (default |n|/2; ≥ 2× security level)");
  p->add_option("--min-time", o->min_time, "seconds per timed run")->capture_default_str();
  p->add_option("--runs", o->runs, "timed runs per operation (the median is reported)")->capture_default_str()
      ->check(CLI::Range(1, 50));
  p->add_option("--rows", o->rows, "gradient kernel: ciphertexts (samples)")->capture_default_str();
  p->add_option("--features", o->features, "gradient kernel: features (columns)")->capture_default_str();
  p->add_flag("--skip-naive", o->skip_naive, "do not time the naive kernel (it takes a few seconds)");
  p->footer(
      "Examples:\n"
      "  fatectl bench paillier --bits 2048                       # one core, DJN fixed-base\n"
      "  fatectl bench paillier --bits 2048 --exponent-bits 448   # shorter DJN exponent\n"
      "  fatectl bench paillier --bits 2048 --obfuscation textbook --threads 2 -o json\n"
      "\n"
      "One thread is timed by thread CPU time, so other jobs on a shared machine count less;\n"
      "several threads are timed by wall clock, and CPUS (JSON cpusUsed) says how many cores the run\n"
      "actually got: well below --threads means other jobs took the rest. Every result is checked\n"
      "(the kernel against the naive products and against the plaintext sum). The arithmetic line\n"
      "says whether AVX-512 IFMA is in use (FATECTL_HE_NO_IFMA=1 turns it off).");
  p->callback([o, &g] { run_paillier_bench(*o, g); });
}

}  // namespace fatectl::cli
