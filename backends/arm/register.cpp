// Compiled without ISA flags, once per plugin variant (TERN_ARM_DOTPROD / TERN_ARM_I8MM): the registry reads
// kInfo and checks the CPU before any dotprod or i8mm code runs.
#include "arm_kernels.h"
#include "cpu_backend.h"
#include "tern/plugin/export.h"

namespace {
#if defined(TERN_ARM_I8MM)
const tern::BackendInfo kInfo{
    "arm-i8mm",
    "Armv8.6-A i8mm: smmla prefill tiles and sdot decode for I2_S/TQ2_0/TQ1_0; NEON for "
    "F16/BF16/Q8_0/Q4_0/Q4_1",
    30, "neon dotprod i8mm"};
const tern::cpu::CpuKernels& kKernels = tern::arm::kI8mmKernels;
#elif defined(TERN_ARM_DOTPROD)
const tern::BackendInfo kInfo{"arm-dotprod",
                              "Armv8.2-A dotprod: sdot I2_S/TQ2_0/TQ1_0 kernels; NEON tbl for TL1; NEON for "
                              "F16/BF16/Q8_0/Q4_0/Q4_1",
                              25, "neon dotprod"};
const tern::cpu::CpuKernels& kKernels = tern::arm::kDotprodKernels;
#else
const tern::BackendInfo kInfo{"arm-neon",
                              "Armv8-A NEON: I2_S/TQ2_0/TQ1_0 with int8 activations, TL1 (tbl), "
                              "F16/BF16/Q8_0/Q4_0/Q4_1",
                              20, "neon"};
const tern::cpu::CpuKernels& kKernels = tern::arm::kNeonKernels;
#endif
}  // namespace

TERN_BACKEND_PLUGIN(kInfo, new tern::cpu::CpuBackend(kKernels))
