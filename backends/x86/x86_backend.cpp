#include "x86_backend.h"

namespace tern {

void X86Avx2Backend::matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa,
                            const Parallel& par) const {
  x86::matmul_avx2(w, x, y, T, qa, par);
}

}  // namespace tern
