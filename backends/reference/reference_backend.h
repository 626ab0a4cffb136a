#pragma once
#include "reference_kernels.h"

namespace tern {

// Implements every Backend op with the scalar kernels. Other backends derive from it and override what they
// accelerate, so an op they lack still runs (correctly, slowly).
class ReferenceBackend : public Backend {
 public:
  bool supports(DType t) const override { return dtype_traits(t) != nullptr; }
  void matmul(const WeightView& w, const float* x, float* y, size_t T, bool qa,
              const Parallel& par) const override {
    ref::matmul(w, x, y, T, qa, par);
  }
  void get_rows(const WeightView& w, const int32_t* ids, size_t n, float* out) const override {
    ref::get_rows(w, ids, n, out);
  }
  void rms_norm(const float* x, const float* w, float* y, size_t T, size_t dim, float eps) const override {
    ref::rms_norm(x, w, y, T, dim, eps);
  }
  void rope(float* x, size_t T, size_t nh, size_t hd, const int32_t* pos, float theta,
            RopeStyle s) const override {
    ref::rope(x, T, nh, hd, pos, theta, s);
  }
  void attention(const AttentionArgs& a, const Parallel& par) const override { ref::attention(a, par); }
  void gated_activation(const float* g, const float* u, float* o, size_t n, Activation act) const override {
    ref::gated_activation(g, u, o, n, act);
  }
  void add(float* x, const float* y, size_t n) const override { ref::add(x, y, n); }
};

}  // namespace tern
