#include "rvv_kernels.h"

namespace tern::rvv {
constinit const cpu::CpuKernels kRvvKernels = make_rvv_kernels();
}  // namespace tern::rvv
