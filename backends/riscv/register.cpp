// Compiled without -march=rv64gcv: the registry reads kInfo and checks the CPU for V before any vector code
// of the kernel library runs.
#include "cpu_backend.h"
#include "rvv_kernels.h"
#include "tern/plugin/export.h"

namespace {
const tern::BackendInfo kInfo{"rvv",
                              "RISC-V V 1.0, vector-length agnostic: I2_S/TQ2_0/TQ1_0 with int8 activations, "
                              "F16/BF16/Q8_0/Q4_0/Q4_1, attention",
                              20, "rvv"};
}  // namespace

TERN_BACKEND_PLUGIN(kInfo, new tern::cpu::CpuBackend(tern::rvv::kRvvKernels))
