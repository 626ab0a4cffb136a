// Compiled without ISA flags, once per plugin variant (TERN_X86_AMX selects the AMX one, TERN_X86_AVX512 the
// AVX-512 one, and with TERN_X86_AVX512_SIMDE its test-only emulated twin): the registry reads kInfo and
// checks the CPU before any AVX2, AVX-512 or AMX code runs.
#include "cpu_backend.h"
#include "tern/plugin/export.h"
#include "x86_kernels.h"

#if defined(TERN_X86_AMX)
#include "amx_kernels.h"
#elif defined(TERN_X86_AVX512)
#include "x86_kernels_avx512.h"
#endif

namespace {
#if defined(TERN_X86_AVX512_SIMDE)
// Test-only (never installed; tests load it through TERN_PLUGIN_PATH): the AVX-512 kernels through SIMDe, so
// the model tests run them end to end on CPUs without AVX-512. Lowest x86 priority: used only when asked for
// by name.
const tern::BackendInfo kInfo{
    "x86-avx512-simde", "test only: the x86-avx512 kernels on SIMDe's portable AVX-512", 1, "avx2 fma f16c"};
const tern::cpu::CpuKernels& kKernels = tern::x86::kAvx512VnniKernels;
#elif defined(TERN_X86_AMX)
// Preferred over x86-avx512 where both are usable: the same kernels but for prefill. The amx_* flags are
// reported only once Linux has granted the process the tile data state.
const tern::BackendInfo kInfo{
    "x86-amx",
    "AMX-INT8 (tdpbsud) I2_S/TQ2_0/TQ1_0 and AMX-BF16 Q8_0/Q4_0/Q4_1 prefill; the x86-avx512 kernels for the "
    "rest",
    40, "avx2 fma f16c avx512f avx512bw avx512vl avx512vnni avx512bf16 amx_tile amx_int8 amx_bf16"};
const tern::cpu::CpuKernels& kKernels = tern::x86::kAmxKernels;
#elif defined(TERN_X86_AVX512)
// Preferred over x86-avx2 where both are usable. oneDNN picks its own AVX-512 VNNI code at run time.
const tern::BackendInfo kInfo{
    "x86-avx512",
    "AVX-512 VNNI (vpdpbusd) I2_S/TQ2_0 and 512-bit vpshufb TL2 kernels; AVX2 for the rest; "
    "oneDNN prefill GEMM",
    30, "avx2 fma f16c avx512f avx512bw avx512vl avx512vnni"};
const tern::cpu::CpuKernels& kKernels = tern::x86::kAvx512VnniKernels;
#else
const tern::BackendInfo kInfo{"x86-avx2",
                              "AVX2/FMA/F16C kernels: I2_S, TL2, TQ1_0, TQ2_0 with int8 activations, "
                              "F16/BF16/Q8_0/Q4_0/Q4_1/Q4_ZP; oneDNN prefill GEMM",
                              20, "avx2 fma f16c"};
const tern::cpu::CpuKernels& kKernels = tern::x86::kAvx2Kernels;
#endif
}  // namespace

TERN_BACKEND_PLUGIN(kInfo, new tern::cpu::CpuBackend(kKernels))
