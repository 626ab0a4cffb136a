// Compiled without ISA flags: the registry reads kInfo and checks the CPU before anything AVX2 runs.
#include "tern/plugin/export.h"
#include "x86_backend.h"

namespace {
const tern::BackendInfo kInfo{"x86-avx2", "AVX2/FMA/F16C kernels: I2_S, TL2, TQ1_0, TQ2_0 with int8 activations, F16/BF16/Q8_0/Q4_0/Q4_1; oneDNN prefill GEMM",
                              20, "avx2 fma f16c"};
}

TERN_BACKEND_PLUGIN(kInfo, new tern::X86Avx2Backend())
