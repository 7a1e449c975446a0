// After CLI11 refuses a command line: when the reason is a mistyped command name, say so and
// suggest the nearest one ("unknown command 'clutser'; did you mean 'cluster'?"), as git and
// kubectl do, instead of CLI11's "The following arguments were not expected".
#include <string>
#include <vector>

#include "commands.h"
#include "fatectl/core/log.h"
#include "fatectl/spec/suggest.h"

namespace fatectl::cli {
namespace {

/// A global flag that takes its value in the next argument (`-n fate-9999`, not `-n=fate-9999`).
bool takes_value(const CLI::App& root, const std::string& a) {
  if (a.find('=') != std::string::npos) return false;
  const CLI::Option* o = root.get_option_no_throw(a);
  return o && o->get_type_size() != 0;
}

std::string path_of(const CLI::App* app) {
  std::string p;
  for (const CLI::App* a = app; a; a = a->get_parent()) p = a->get_name() + (p.empty() ? "" : " " + p);
  return p;
}

}  // namespace

bool report_unknown_command(const CLI::App& root, int argc, char** argv) {
  const CLI::App* cur = &root;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") return false;
    if (!a.empty() && a[0] == '-') {
      if (takes_value(root, a)) ++i;
      continue;
    }
    auto subs = cur->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return false;  // a leaf command: the rest are its arguments
    const CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (const CLI::App* s : subs) {
      names.push_back(s->get_name());
      if (s->check_name(a)) next = s;
    }
    if (next) {
      cur = next;
      continue;
    }
    std::string near = spec::nearest(a, names);
    if (near.empty())
      for (const auto& n : names)
        if (a.size() >= 2 && n.rfind(a, 0) == 0) near = n;  // a prefix: "clu"
    log::error("unknown command '{}'{}{} (`{} --help` lists the commands)", a,
               cur == &root ? "" : " for '" + path_of(cur) + "'", near.empty() ? "" : "; did you mean '" + near + "'?",
               path_of(cur));
    return true;
  }
  return false;
}

}  // namespace fatectl::cli
