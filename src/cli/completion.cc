// fatectl completion bash|zsh: shell completion generated from the command tree itself.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "commands.h"
#include "fatectl/core/error.h"

namespace fatectl::cli {
namespace {

// Collects "path words" -> candidate words (subcommands and long options) for each command.
void collect(const CLI::App* app, const std::string& path, std::map<std::string, std::vector<std::string>>& out) {
  std::vector<std::string>& words = out[path];
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    words.push_back(sub->get_name());
    collect(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
  }
  for (const CLI::Option* o : app->get_options()) {
    for (const auto& l : o->get_lnames()) words.push_back("--" + l);
  }
}

// Key of a command path in the generated scripts ("fatectl", "fatectl cluster", ...).
std::string key(const std::string& path) { return path.empty() ? "fatectl" : "fatectl " + path; }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& w : v) s += (s.empty() ? "" : " ") + w;
  return s;
}

void print_bash(const std::map<std::string, std::vector<std::string>>& tree, const std::string& globals) {
  std::printf("# bash completion for fatectl; load with: source <(fatectl completion bash)\n");
  std::printf("_fatectl() {\n  local cur path w\n  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n  path=fatectl\n");
  std::printf("  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n    case \"$w\" in -*) ;; *)\n");
  std::printf("      if [[ -n \"${_fatectl_words[$path $w]+x}\" ]]; then path=\"$path $w\"; fi ;;\n    esac\n  done\n");
  std::printf("  COMPREPLY=( $(compgen -W \"${_fatectl_words[$path]} %s\" -- \"$cur\") )\n}\n", globals.c_str());
  std::printf("declare -gA _fatectl_words=(\n");
  for (const auto& [path, words] : tree) std::printf("  [\"%s\"]=\"%s\"\n", key(path).c_str(), join(words).c_str());
  std::printf(")\ncomplete -F _fatectl fatectl\n");
}

void print_zsh(const std::map<std::string, std::vector<std::string>>& tree, const std::string& globals) {
  std::printf("#compdef fatectl\n# zsh completion for fatectl; load with: source <(fatectl completion zsh)\n");
  std::printf("typeset -gA _fatectl_words\n_fatectl_words=(\n");
  for (const auto& [path, words] : tree) std::printf("  '%s' '%s'\n", key(path).c_str(), join(words).c_str());
  std::printf(")\n_fatectl() {\n  local path=fatectl w\n  for w in ${words[2,CURRENT-1]}; do\n");
  std::printf("    [[ $w == -* ]] && continue\n    (( ${+_fatectl_words[$path $w]} )) && path=\"$path $w\"\n  done\n");
  std::printf("  compadd -- ${=_fatectl_words[$path]} %s\n}\ncompdef _fatectl fatectl\n", globals.c_str());
}

}  // namespace

void add_completion_command(CLI::App& root, GlobalOptions&) {
  auto* cmd = root.add_subcommand("completion", "Print a shell completion script (bash or zsh)");
  cmd->footer("Examples:\n  source <(fatectl completion bash)\n  fatectl completion zsh > \"${fpath[1]}/_fatectl\"");
  static std::string shell;
  cmd->add_option("shell", shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&root] {
    std::map<std::string, std::vector<std::string>> tree;
    collect(&root, "", tree);
    std::vector<std::string> globals;
    for (const CLI::Option* o : root.get_options())
      for (const auto& l : o->get_lnames()) globals.push_back("--" + l);
    tree[""].clear();
    for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
      tree[""].push_back(sub->get_name());
    if (shell == "bash") print_bash(tree, join(globals));
    else print_zsh(tree, join(globals));
  });
}

}  // namespace fatectl::cli
