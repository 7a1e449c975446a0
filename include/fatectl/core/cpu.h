#pragma once
// What the CPU offers beyond the baseline, for code with a vectorised path beside a portable one.

namespace fatectl::cpu {

/// Whether AVX-512F and AVX-512 IFMA may be used: the CPU has them (checked once per process) and
/// the environment variable `disable_env` is unset, empty or "0" (how tests force the portable path).
/// Always false where the build cannot emit them (not x86-64 GCC/Clang).
bool avx512_ifma(const char* disable_env);

}  // namespace fatectl::cpu
