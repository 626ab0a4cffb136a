#pragma once
#include "cpu_kernels.h"
#include "reference_backend.h"

namespace tern::cpu {

// The one CPU backend every ISA plugin instantiates with its kernel table: matmul through the ISA-free
// driver, attention and the gated activation through the table where it has them, every other op (and every
// type or op the table lacks) through the reference kernels, which keeps them bit-identical to the reference.
class CpuBackend final : public ReferenceBackend {
 public:
  explicit CpuBackend(const CpuKernels& kernels) : kernels_(kernels) {}
  void matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa,
              const Parallel& par) const override {
    cpu::matmul(kernels_, w, x, y, T, qa, par);
  }
  void matmul_multi(const WeightView* const* ws, float* const* ys, size_t count, const float* x, size_t T,
                    bool qa, const Parallel& par) const override {
    cpu::matmul_multi(kernels_, ws, ys, count, x, T, qa, par);
  }
  void gated_activation(const float* gate, const float* up, float* out, size_t n,
                        Activation act) const override {
    if (kernels_.gated_activation)
      kernels_.gated_activation(gate, up, out, n, act);
    else
      ReferenceBackend::gated_activation(gate, up, out, n, act);
  }
  void rms_norm(const float* x, const float* w, float* y, size_t T, size_t dim, float eps) const override {
    if (kernels_.rms_norm)
      kernels_.rms_norm(x, w, y, T, dim, eps);
    else
      ReferenceBackend::rms_norm(x, w, y, T, dim, eps);
  }
  void attention(const AttentionArgs& a, const Parallel& par) const override {
    cpu::attention(kernels_.attention, a, par);  // the reference where the table has no attention kernels
  }

 private:
  const CpuKernels& kernels_;
};

}  // namespace tern::cpu
