#pragma once
#include <cstddef>
#include <set>
#include <string>

namespace tern {

struct CpuFeatures {
  std::string arch;   // "x86_64", "aarch64", "riscv64", ...
  std::string model;  // CPU name when known
  std::set<std::string>
      flags;           // "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni", "neon", ...
  std::string source;  // "cpuinfo" or "getauxval" (riscv64: " + riscv_hwprobe" when the kernel answered it)
  size_t vector_bits = 0;  // RISC-V with V: VLEN, which vector-length agnostic kernels adapt to at run time
  bool has(const std::string& f) const { return flags.count(f) != 0; }
  std::string flags_string() const;
};

// Detected once; TERN_CPU_FEATURES="avx2 fma" (a space-separated list) replaces the detected flags, which
// lets tests exercise plugin selection as if on another CPU.
const CpuFeatures& cpu_features();

}  // namespace tern
