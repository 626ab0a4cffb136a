#include "tern/cpu_features.h"

#include <cstdlib>
#include <sstream>

#if defined(TERN_HAVE_CPUINFO)
#include <cpuinfo.h>
#endif
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__linux__) && defined(__riscv)
#include <asm/hwprobe.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tern {
namespace {

std::string detected_arch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

#if defined(__linux__) && defined(__aarch64__)
// Debian bookworm's cpuinfo predates i8mm, so that one comes from the kernel's HWCAP2 even with cpuinfo.
void add_arm_hwcap2_features(CpuFeatures& f) {
  const unsigned long hw2 = getauxval(AT_HWCAP2);
  if (hw2 & (1UL << 13)) f.flags.insert("i8mm");  // HWCAP2_I8MM
  if (hw2 & (1UL << 14)) f.flags.insert("bf16");  // HWCAP2_BF16
}
#endif

#if defined(__riscv)
// VLEN from the vlenb CSR. The runtime is rv64gc, so V is enabled for this one instruction, which runs only
// once the kernel has reported V.
size_t riscv_vector_bits() {
  unsigned long vlenb;
  __asm__ volatile(".option push\n.option arch, +v\ncsrr %0, vlenb\n.option pop" : "=r"(vlenb));
  return size_t(vlenb) * 8;
}
#endif

#if defined(__x86_64__)
// AMX, which Debian's cpuinfo does not know: the CPU must have it (CPUID leaf 7), the OS must save its state
// (XCR0 bits 17-18), and on Linux the process must be granted the tile data state before its first tile
// instruction (arch_prctl ARCH_REQ_XCOMP_PERM, Linux 5.16+). Reported only when all three hold.
void add_x86_amx_features(CpuFeatures& f) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
  const bool tile = d & (1u << 24), int8 = d & (1u << 25), bf16 = d & (1u << 22);
  unsigned a1, b1, c1, d1;
  if (!tile || !__get_cpuid(1, &a1, &b1, &c1, &d1) || !(c1 & (1u << 27))) return;  // OSXSAVE: xgetbv works
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & (3u << 17)) != (3u << 17)) return;
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return;
  f.flags.insert("amx_tile");
  if (int8) f.flags.insert("amx_int8");
  if (bf16) f.flags.insert("amx_bf16");
#endif
}
#endif

CpuFeatures detect_flags() {
  CpuFeatures f;
  f.arch = detected_arch();
#if defined(TERN_HAVE_CPUINFO)
  if (cpuinfo_initialize()) {
    f.source = "cpuinfo";
    if (cpuinfo_get_packages_count() > 0) f.model = cpuinfo_get_package(0)->name;
    auto add = [&](bool has, const char* name) {
      if (has) f.flags.insert(name);
    };
#if defined(__x86_64__)
    add(cpuinfo_has_x86_sse4_2(), "sse4.2");
    add(cpuinfo_has_x86_avx(), "avx");
    add(cpuinfo_has_x86_avx2(), "avx2");
    add(cpuinfo_has_x86_fma3(), "fma");
    add(cpuinfo_has_x86_f16c(), "f16c");
    add(cpuinfo_has_x86_avx512f(), "avx512f");
    add(cpuinfo_has_x86_avx512bw(), "avx512bw");
    add(cpuinfo_has_x86_avx512vl(), "avx512vl");
    add(cpuinfo_has_x86_avx512dq(), "avx512dq");
    add(cpuinfo_has_x86_avx512vnni(), "avx512vnni");
    add(cpuinfo_has_x86_avx512vbmi(), "avx512vbmi");
    add(cpuinfo_has_x86_avx512bf16(), "avx512bf16");
#elif defined(__aarch64__)
    add(cpuinfo_has_arm_neon(), "neon");
    add(cpuinfo_has_arm_neon_dot(), "dotprod");
    add(cpuinfo_has_arm_neon_fp16_arith(), "fp16");
    add(cpuinfo_has_arm_bf16(), "bf16");
    add(cpuinfo_has_arm_sve(), "sve");
    add_arm_hwcap2_features(f);
#elif defined(__riscv)
    add(cpuinfo_has_riscv_v(), "rvv");
#endif
    return f;
  }
#endif
  f.source = "getauxval";
#if defined(__linux__) && defined(__aarch64__)
  const unsigned long hw = getauxval(AT_HWCAP);
  if (hw & (1UL << 1)) f.flags.insert("neon");      // HWCAP_ASIMD
  if (hw & (1UL << 20)) f.flags.insert("dotprod");  // HWCAP_ASIMDDP
  if (hw & (1UL << 22)) f.flags.insert("sve");      // HWCAP_SVE
  add_arm_hwcap2_features(f);
#elif defined(__linux__) && defined(__riscv)
  const unsigned long hw = getauxval(AT_HWCAP);
  if (hw & (1UL << ('V' - 'A'))) f.flags.insert("rvv");
#elif defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) f.flags.insert("avx2");
  if (__builtin_cpu_supports("fma")) f.flags.insert("fma");
  if (__builtin_cpu_supports("avx512f")) f.flags.insert("avx512f");
  if (__builtin_cpu_supports("avx512bw")) f.flags.insert("avx512bw");
  if (__builtin_cpu_supports("avx512vl")) f.flags.insert("avx512vl");
  if (__builtin_cpu_supports("avx512vnni")) f.flags.insert("avx512vnni");
  f.source = "compiler builtins";
#endif
  return f;
}

#if defined(__linux__) && defined(__riscv)
// Extensions neither HWCAP nor cpuinfo report, from the riscv_hwprobe system call (Linux 6.4+; without it,
// none are reported).
void add_riscv_hwprobe_features(CpuFeatures& f) {
  riscv_hwprobe probe{RISCV_HWPROBE_KEY_IMA_EXT_0, 0};
  if (syscall(__NR_riscv_hwprobe, &probe, 1, 0, nullptr, 0) != 0 || probe.key < 0) return;
  if (probe.value & RISCV_HWPROBE_EXT_ZVFHMIN) f.flags.insert("zvfhmin");
  if (probe.value & RISCV_HWPROBE_EXT_ZVFH) f.flags.insert("zvfh");
  f.source += " + riscv_hwprobe";
}
#endif

CpuFeatures detect() {
  CpuFeatures f = detect_flags();
#if defined(__x86_64__)
  add_x86_amx_features(f);
#endif
#if defined(__riscv)
  if (f.has("rvv")) {
    f.vector_bits = riscv_vector_bits();
#if defined(__linux__)
    add_riscv_hwprobe_features(f);
#endif
  }
#endif
  return f;
}

}  // namespace

std::string CpuFeatures::flags_string() const {
  std::string s;
  for (const auto& x : flags) s += (s.empty() ? "" : " ") + x;
  return s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = [] {
    CpuFeatures d = detect();
    if (const char* o = std::getenv("TERN_CPU_FEATURES")) {
      d.flags.clear();
      std::istringstream is(o);
      for (std::string w; is >> w;) d.flags.insert(w);
      d.source = "TERN_CPU_FEATURES";
      if (!d.has("rvv")) d.vector_bits = 0;
    }
    return d;
  }();
  return f;
}

}  // namespace tern
