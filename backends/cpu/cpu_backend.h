#pragma once
#include <vector>

#include "cpu_kernels.h"
#include "cpu_repack.h"
#include "reference_backend.h"

namespace tern::cpu {

// The one CPU backend every ISA plugin instantiates with its kernel table: matmul through the ISA-free
// driver, attention and the gated activation through the table where it has them, every other op (and every
// type or op the table lacks) through the reference kernels, which keeps them bit-identical to the reference.
class CpuBackend final : public ReferenceBackend {
 public:
  explicit CpuBackend(const CpuKernels& kernels) : kernels_(kernels) {}
  // TQ1_0 runs from a TQ2_0 copy wherever the table has TQ2_0 kernels (cpu_repack.h).
  void prepare(WeightView& w) const override {
    if (w.type == DType::TQ1_0 && !w.prepared && has_kernels(kernels_, DType::TQ2_0))
      w.prepared = repack_tq1_as_tq2(w.data, w.k, w.n);
  }
  void matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa,
              const Parallel& par) const override {
    cpu::matmul(kernels_, runnable_view(w), x, y, T, qa, par);
  }
  void matmul_multi(const WeightView* const* ws, float* const* ys, size_t count, const float* x, size_t T,
                    bool qa, const Parallel& par) const override {
    thread_local std::vector<WeightView> views;
    thread_local std::vector<const WeightView*> ptrs;
    views.resize(count);
    ptrs.resize(count);
    for (size_t i = 0; i < count; ++i) {
      views[i] = runnable_view(*ws[i]);
      ptrs[i] = &views[i];
    }
    cpu::matmul_multi(kernels_, ptrs.data(), ys, count, x, T, qa, par);
  }
  void get_rows(const WeightView& w, const int32_t* ids, size_t n_ids, float* out) const override {
    ReferenceBackend::get_rows(runnable_view(w), ids, n_ids, out);
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
