#pragma once
#include "reference_backend.h"
#include "x86_kernels.h"

namespace tern {

// AVX2 matmul for every weight type (oneDNN for large prefill batches). The other ops run the reference kernels:
// attention must stay bit-identical to the reference for greedy outputs to match (near-ties flip otherwise).
class X86Avx2Backend final : public ReferenceBackend {
 public:
  void matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa, const Parallel& par) const override;
};

}  // namespace tern
