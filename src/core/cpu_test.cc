// Unit tests of cpu.h: the environment switch turns the vectorised path off.
#include <doctest/doctest.h>

#include <cstdlib>

#include "fatectl/core/cpu.h"

TEST_CASE("avx512_ifma: the disable variable wins; '0' and empty do not disable") {
  const char* var = "FATECTL_CPU_TEST_NO_IFMA";
  ::unsetenv(var);
  const bool native = fatectl::cpu::avx512_ifma(var);
  ::setenv(var, "1", 1);
  CHECK_FALSE(fatectl::cpu::avx512_ifma(var));
  ::setenv(var, "0", 1);
  CHECK(fatectl::cpu::avx512_ifma(var) == native);
  ::setenv(var, "", 1);
  CHECK(fatectl::cpu::avx512_ifma(var) == native);
  ::unsetenv(var);
}
