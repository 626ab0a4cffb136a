#include "rvv_kernels.h"

namespace tern::rvv {
constinit const cpu::CpuKernels kRvvKernels = make_rvv_kernels();
constinit const cpu::CpuKernels kRvvZvfhminKernels = make_rvv_zvfhmin_kernels();
}  // namespace tern::rvv
