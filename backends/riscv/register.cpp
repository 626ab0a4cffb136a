// Compiled without -march=rv64gcv, once per variant (TERN_RVV_ZVFHMIN): the registry reads kInfo and checks
// the CPU for V before any vector code of the kernel library runs.
#include "cpu_backend.h"
#include "rvv_kernels.h"
#include "tern/plugin/export.h"

namespace {
#if defined(TERN_RVV_ZVFHMIN)
const tern::BackendInfo kInfo{"rvv-zvfhmin", "rvv with Zvfhmin: F16 weights converted by vfwcvt", 25,
                              "rvv zvfhmin"};
const tern::cpu::CpuKernels& kKernels = tern::rvv::kRvvZvfhminKernels;
#else
const tern::BackendInfo kInfo{"rvv",
                              "RISC-V V 1.0, vector-length agnostic: I2_S/TQ2_0/TQ1_0 with int8 activations, "
                              "F16/BF16/Q8_0/Q4_0/Q4_1, attention",
                              20, "rvv"};
const tern::cpu::CpuKernels& kKernels = tern::rvv::kRvvKernels;
#endif
}  // namespace

TERN_BACKEND_PLUGIN(kInfo, new tern::cpu::CpuBackend(kKernels))
