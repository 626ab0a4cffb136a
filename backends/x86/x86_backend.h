#pragma once
#include "reference_backend.h"
#include "x86_kernels.h"

namespace tern {

// x86 matmul for every weight type (oneDNN for large prefill batches), with the ternary inner loops of one
// plugin variant (AVX2 or AVX-512 VNNI); attention and relu^2 vectorized without changing a single rounding
// (bit-identical). The other ops run the reference kernels: they must stay bit-identical to the reference for
// greedy outputs to match (near-ties flip otherwise), and vectorizing their sums would reorder them.
class X86Backend final : public ReferenceBackend {
 public:
  explicit X86Backend(const x86::TernaryKernels& kernels) : kernels_(kernels) {}
  void matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa,
              const Parallel& par) const override;
  void gated_activation(const float* gate, const float* up, float* out, size_t n,
                        Activation act) const override {
    x86::gated_activation_avx2(gate, up, out, n, act);
  }
  void attention(const AttentionArgs& a, const Parallel& par) const override { x86::attention_avx2(a, par); }
  void matmul_multi(const WeightView* const* ws, float* const* ys, size_t count, const float* x, size_t T,
                    bool qa, const Parallel& par) const override;

 private:
  const x86::TernaryKernels& kernels_;
};

}  // namespace tern
