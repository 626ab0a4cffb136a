#pragma once
#include "reference_backend.h"
#include "x86_kernels.h"

namespace tern {

// AVX2 matmul over the weight types it accelerates; every other op (and TQ1_0) runs the reference kernels.
class X86Avx2Backend final : public ReferenceBackend {
 public:
  void matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa, const Parallel& par) const override;
};

}  // namespace tern
