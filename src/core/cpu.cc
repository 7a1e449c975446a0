#include "fatectl/core/cpu.h"

#include <cstdlib>
#include <cstring>

namespace fatectl::cpu {

bool avx512_ifma(const char* disable_env) {
  const char* off = std::getenv(disable_env);
  if (off && *off && std::strcmp(off, "0") != 0) return false;
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace fatectl::cpu
