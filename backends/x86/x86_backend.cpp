#include "x86_backend.h"

namespace tern {

void X86Backend::matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa,
                        const Parallel& par) const {
  x86::matmul_x86(kernels_, w, x, y, T, qa, par);
}

void X86Backend::matmul_multi(const WeightView* const* ws, float* const* ys, size_t count, const float* x,
                              size_t T, bool qa, const Parallel& par) const {
  x86::matmul_x86_multi(kernels_, ws, ys, count, x, T, qa, par);
}

}  // namespace tern
