// fatectl keys: Paillier key pairs for federated training (generate, show).
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/he/paillier.h"

namespace fatectl::cli {

namespace {

struct KeysGenerateOptions {
  unsigned bits = 2048;
  std::string out, public_out;
  bool insecure = false, force = false;
  std::string obfuscation = "fixed-base";
  unsigned exponent_bits = 0;
};

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

void generate(const KeysGenerateOptions& o, GlobalOptions& g) {
  if (o.out.empty()) throw invalid("keys generate: --out FILE is required");
  std::string pub = o.public_out.empty() ? o.out + ".pub" : o.public_out;
  if (pub == o.out) throw invalid("keys generate: --public-out must differ from --out");
  if (!o.force) {
    if (exists(o.out)) throw invalid(o.out + ": already exists (use --force to overwrite)");
    if (exists(pub)) throw invalid(pub + ": already exists (use --force to overwrite)");
  }
  he::KeyOptions ko;
  ko.bits = o.bits;
  ko.allow_insecure = o.insecure;
  ko.obfuscation = he::parse_obfuscation(o.obfuscation);
  ko.exponent_bits = o.exponent_bits;
  if (o.bits < 2048 && !o.insecure)
    throw invalid("keys generate: a " + std::to_string(o.bits) + "-bit key is insecure; use --bits 2048 or more (or --insecure-key-size for tests and demos)");
  if (o.bits < 2048 && o.insecure) log::warn("generating an insecure {}-bit key (tests and demos only)", o.bits);
  log::progress(fmt::format("generating a {}-bit Paillier key pair", o.bits));
  he::KeyPair kp = he::KeyPair::generate(ko);
  log::progress_done();
  kp.priv.save(o.out, o.force);
  kp.pub.save(pub);
  YAML::Node n;
  n["privateKey"] = o.out;
  n["publicKey"] = pub;
  n["bits"] = kp.pub.bits();
  n["fingerprint"] = yaml::str(kp.pub.fingerprint());
  if (g.format() == output::Format::Table) {
    std::printf("wrote %s (private, mode 0600) and %s (public)\n%u-bit Paillier key, fingerprint %s\n", o.out.c_str(),
                pub.c_str(), kp.pub.bits(), kp.pub.fingerprint().c_str());
    return;
  }
  output::print(g.format(), n);
}

void show(const std::string& path, GlobalOptions& g) {
  std::string text = yaml::read_file(path);
  bool is_private = text.find("PaillierPrivateKey") != std::string::npos;
  he::PublicKey pk = is_private ? he::PrivateKey::load(path).public_key() : he::PublicKey::parse(text, path);
  YAML::Node n;
  n["file"] = path;
  n["kind"] = is_private ? "private" : "public";
  n["bits"] = pk.bits();
  n["fingerprint"] = yaml::str(pk.fingerprint());
  if (g.format() == output::Format::Table) {
    std::printf("%s: %s %u-bit Paillier key, fingerprint %s\n", path.c_str(), is_private ? "private" : "public",
                pk.bits(), pk.fingerprint().c_str());
    return;
  }
  output::print(g.format(), n);
}

}  // namespace

void add_keys_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* keys = root.add_subcommand("keys", "Paillier key pairs for federated training (the arbiter holds the private key)");
  keys->require_subcommand(1);

  auto o = std::make_shared<KeysGenerateOptions>();
  CLI::App* gen = keys->add_subcommand("generate", "Generate a Paillier key pair: FILE (private, 0600) and FILE.pub");
  gen->add_option("--bits", o->bits, "modulus size |n| in bits (2048 or more; less needs --insecure-key-size)")
      ->capture_default_str();
  gen->add_option("--out", o->out, "private key file (written with mode 0600; refused later if group/world readable)")
      ->required();
  gen->add_option("--public-out", o->public_out, "public key file (default: the private key file + .pub)");
  gen->add_flag("--insecure-key-size", o->insecure, "allow keys below 2048 bits (tests and demos only)");
  gen->add_flag("--force", o->force, "overwrite existing files");
  gen->footer(
      "Examples:\n"
      "  fatectl keys generate --out arbiter.key                 # 2048-bit, writes arbiter.key + arbiter.key.pub\n"
      "  fatectl keys generate --bits 3072 --out arbiter.key\n"
      "  fatectl keys generate --bits 1024 --insecure-key-size --out demo.key\n"
      "\n"
      "Give the .pub file to the other parties; keep the private key on the arbiter. The public\n"
      "key carries the DJN fixed base h_s used for fast encryption (docs/paillier-security.md).");
  gen->callback([o, &g] { generate(*o, g); });

  auto path = std::make_shared<std::string>();
  CLI::App* sh = keys->add_subcommand("show", "Print the size and fingerprint of a key file (never the secret)");
  sh->add_option("FILE", *path, "private or public key file")->required();
  sh->footer("Example:\n  fatectl keys show arbiter.key.pub -o json");
  sh->callback([path, &g] { show(*path, g); });
}

}  // namespace fatectl::cli
