// fatectl completion bash|zsh: shell completion generated from the command tree itself, plus
// the hidden `fatectl __complete releases|namespaces` the scripts call to ask the cluster for
// names (as kubectl's completion does), quietly and within a few seconds.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::cli {
namespace {

/// What the scripts need to know about the command tree.
struct Tree {
  std::map<std::string, std::vector<std::string>> words;  ///< command path -> subcommands and flags
  std::set<std::string> release_cmds;  ///< paths whose first argument is a release name
  std::set<std::string> value_flags;   ///< flags that take the next word as their value
  std::set<std::string> file_flags;    ///< flags whose value is a file
  std::set<std::string> dir_flags;     ///< flags whose value is a directory
};

bool is_hidden(const CLI::App* a) { return a->get_group().empty(); }

void add_unique(std::vector<std::string>& v, const std::string& w) {
  for (const auto& x : v)
    if (x == w) return;
  v.push_back(w);
}

// Collects subcommands and flags (long and short, --help once) for each command path.
void collect(const CLI::App* app, const std::string& path, Tree& t) {
  std::vector<std::string>& words = t.words[path];
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    if (is_hidden(sub)) continue;
    words.push_back(sub->get_name());
    collect(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), t);
  }
  for (const CLI::Option* o : app->get_options()) {
    std::vector<std::string> names;
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
    for (const auto& s : o->get_snames()) names.push_back("-" + s);
    if (o->get_positional()) {
      if (o->get_name() == "name" && path.find(' ') != std::string::npos) t.release_cmds.insert(path);
      continue;
    }
    for (const auto& n : names) {
      add_unique(words, n);
      if (o->get_type_size() == 0) continue;  // a flag
      t.value_flags.insert(n);
      std::string l = o->get_lnames().empty() ? "" : o->get_lnames()[0];
      if (l == "file" || l == "job" || l == "kubeconfig" || l == "guest-data" || l == "host-data") t.file_flags.insert(n);
      if (l == "dir" || l == "out" || l == "run-dir") t.dir_flags.insert(n);
    }
  }
}

// Key of a command path in the generated scripts ("fatectl", "fatectl cluster", ...).
std::string key(const std::string& path) { return path.empty() ? "fatectl" : "fatectl " + path; }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& w : v) s += (s.empty() ? "" : " ") + w;
  return s;
}

std::string case_pattern(const std::set<std::string>& v) {
  std::string s;
  for (const auto& w : v) s += (s.empty() ? "" : "|") + w;
  return s.empty() ? "--no-such-flag--" : s;
}

void print_bash(const Tree& t, const std::string& globals) {
  std::printf("# bash completion for fatectl; load with: source <(fatectl completion bash)\n");
  std::printf(
      "_fatectl_ask() {  # names from the cluster, with the command line's --kubeconfig/--context/-n\n"
      "  \"${COMP_WORDS[0]}\" __complete \"$1\" \"${_fatectl_conn[@]}\" 2>/dev/null\n"
      "}\n"
      "_fatectl() {\n"
      "  local cur prev path w i pos=0\n"
      "  _fatectl_conn=()\n"
      "  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
      "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
      "  path=fatectl\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=\"${COMP_WORDS[i]}\"\n"
      "    case \"$w\" in\n"
      "      --kubeconfig|--context|-n|--namespace)\n"
      "        ((i + 1 < COMP_CWORD)) && _fatectl_conn+=(\"$w\" \"${COMP_WORDS[i+1]}\"); ((i++)) ;;\n"
      "      %s) ((i++)) ;;\n"
      "      -*) ;;\n"
      "      *) if [[ -n \"${_fatectl_words[$path $w]+x}\" ]]; then path=\"$path $w\"; else ((pos++)); fi ;;\n"
      "    esac\n"
      "  done\n"
      "  case \"$prev\" in\n"
      "    %s) compopt -o filenames 2>/dev/null; COMPREPLY=( $(compgen -f -- \"$cur\") ); return ;;\n"
      "    %s) compopt -o filenames 2>/dev/null; COMPREPLY=( $(compgen -d -- \"$cur\") ); return ;;\n"
      "    -n|--namespace) COMPREPLY=( $(compgen -W \"$(_fatectl_ask namespaces)\" -- \"$cur\") ); return ;;\n"
      "    --release) COMPREPLY=( $(compgen -W \"$(_fatectl_ask releases)\" -- \"$cur\") ); return ;;\n"
      "    -o|--output) COMPREPLY=( $(compgen -W \"table yaml json\" -- \"$cur\") ); return ;;\n"
      "    %s) return ;;\n"
      "  esac\n"
      "  if [[ \"$cur\" != -* && $pos -eq 0 && -n \"${_fatectl_release_cmds[$path]+x}\" ]]; then\n"
      "    COMPREPLY=( $(compgen -W \"$(_fatectl_ask releases)\" -- \"$cur\") ); return\n"
      "  fi\n"
      "  COMPREPLY=( $(compgen -W \"${_fatectl_words[$path]} %s\" -- \"$cur\") )\n"
      "}\n",
      case_pattern(t.value_flags).c_str(), case_pattern(t.file_flags).c_str(), case_pattern(t.dir_flags).c_str(),
      case_pattern(t.value_flags).c_str(), globals.c_str());
  std::printf("declare -gA _fatectl_words=(\n");
  for (const auto& [path, words] : t.words) std::printf("  [\"%s\"]=\"%s\"\n", key(path).c_str(), join(words).c_str());
  std::printf(")\ndeclare -gA _fatectl_release_cmds=(\n");
  for (const auto& p : t.release_cmds) std::printf("  [\"%s\"]=1\n", key(p).c_str());
  std::printf(")\ncomplete -F _fatectl fatectl\n");
}

void print_zsh(const Tree& t, const std::string& globals) {
  std::printf("#compdef fatectl\n# zsh completion for fatectl; load with: source <(fatectl completion zsh)\n");
  std::printf("typeset -gA _fatectl_words _fatectl_release_cmds\n_fatectl_words=(\n");
  for (const auto& [path, words] : t.words) std::printf("  '%s' '%s'\n", key(path).c_str(), join(words).c_str());
  std::printf(")\n_fatectl_release_cmds=(\n");
  for (const auto& p : t.release_cmds) std::printf("  '%s' 1\n", key(p).c_str());
  std::printf(
      ")\n"
      "_fatectl() {\n"
      "  local path=fatectl w prev=${words[CURRENT-1]} i pos=0\n"
      "  local -a conn\n"
      "  for (( i = 2; i < CURRENT; i++ )); do\n"
      "    w=${words[i]}\n"
      "    case $w in\n"
      "      --kubeconfig|--context|-n|--namespace) (( i + 1 < CURRENT )) && conn+=($w ${words[i+1]}); (( i++ )) ;;\n"
      "      %s) (( i++ )) ;;\n"
      "      -*) ;;\n"
      "      *) if (( ${+_fatectl_words[$path $w]} )); then path=\"$path $w\"; else (( pos++ )); fi ;;\n"
      "    esac\n"
      "  done\n"
      "  case $prev in\n"
      "    %s) _files; return ;;\n"
      "    %s) _files -/; return ;;\n"
      "    -n|--namespace) compadd -- ${(f)\"$(${words[1]} __complete namespaces $conn 2>/dev/null)\"}; return ;;\n"
      "    --release) compadd -- ${(f)\"$(${words[1]} __complete releases $conn 2>/dev/null)\"}; return ;;\n"
      "    -o|--output) compadd -- table yaml json; return ;;\n"
      "    %s) return ;;\n"
      "  esac\n"
      "  if [[ $PREFIX != -* && $pos -eq 0 ]] && (( ${+_fatectl_release_cmds[$path]} )); then\n"
      "    compadd -- ${(f)\"$(${words[1]} __complete releases $conn 2>/dev/null)\"}; return\n"
      "  fi\n"
      "  compadd -- ${=_fatectl_words[$path]} %s\n"
      "}\n"
      "compdef _fatectl fatectl\n",
      case_pattern(t.value_flags).c_str(), case_pattern(t.file_flags).c_str(), case_pattern(t.dir_flags).c_str(),
      case_pattern(t.value_flags).c_str(), globals.c_str());
}

/// Names for the completion scripts: release names (label `name` of fatectl's release Secrets)
/// in -n or every namespace, or namespace names. One attempt, a few seconds, nothing on errors.
void complete_names(const std::string& what, const GlobalOptions& g) {
  kube::ClientOptions co;
  co.max_attempts = 1;
  co.connect_timeout_s = 3;
  kube::Client c(kube::load_config({g.kubeconfig, g.context}), co);
  kube::Request r;
  r.timeout_s = 5;
  r.retry = false;
  if (what == "namespaces") {
    r.path = "/api/v1/namespaces";
  } else {
    r.path = (g.namespace_.empty() ? std::string("/api/v1/secrets") : "/api/v1/namespaces/" + g.namespace_ + "/secrets") +
             "?labelSelector=owner%3Dfatectl";
  }
  kube::Response resp = c.send(r);
  if (!resp.ok()) return;
  std::set<std::string> names;
  for (const auto& item : kube::F(resp.json())["items"]) {
    kube::F md = kube::F(item)["metadata"];
    std::string n = what == "namespaces" ? md["name"].str() : md["labels"]["name"].str();
    if (!n.empty()) names.insert(n);
  }
  for (const auto& n : names) std::printf("%s\n", n.c_str());
}

}  // namespace

void add_completion_command(CLI::App& root, GlobalOptions& g) {
  auto* cmd = root.add_subcommand("completion", "Print a shell completion script (bash or zsh)");
  cmd->footer(
      "Completes commands, flags (long and short), file names after -f/--job/--kubeconfig, directories\n"
      "after --out/--run-dir/--dir, and asks the cluster (with the command line's --kubeconfig,\n"
      "--context and -n) for release names after `cluster status|history|...` and --release, and for\n"
      "namespace names after -n.\n\n"
      "Examples:\n  source <(fatectl completion bash)\n  fatectl completion zsh > \"${fpath[1]}/_fatectl\"");
  static std::string shell;
  cmd->add_option("shell", shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&root] {
    Tree t;
    collect(&root, "", t);
    std::vector<std::string> globals;
    for (const CLI::Option* o : root.get_options()) {
      for (const auto& l : o->get_lnames()) globals.push_back("--" + l);
      for (const auto& s : o->get_snames()) globals.push_back("-" + s);
    }
    t.words[""].clear();
    for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
      if (!is_hidden(sub)) t.words[""].push_back(sub->get_name());
    // a command's own words already hold the global flags CLI11 lists for it: keep one of each
    for (auto& [path, words] : t.words) {
      if (path.empty()) continue;
      std::vector<std::string> own;
      for (const auto& w : words)
        if (std::find(globals.begin(), globals.end(), w) == globals.end()) own.push_back(w);
      words = own;
    }
    if (shell == "bash") print_bash(t, join(globals));
    else print_zsh(t, join(globals));
  });

  static std::string what;
  auto* hidden = root.add_subcommand("__complete", "names for shell completion (used by the completion scripts)");
  hidden->group("");  // not listed in --help or completed
  hidden->add_option("what", what, "releases or namespaces")->required()->check(CLI::IsMember({"releases", "namespaces"}));
  hidden->callback([&g] {
    try {
      complete_names(what, g);
    } catch (const std::exception&) {
      // completion never prints errors into the shell
    }
  });
}

}  // namespace fatectl::cli
