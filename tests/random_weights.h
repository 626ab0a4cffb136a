#pragma once
// Random weights of any type, as models hold them, for kernel and backend conformance tests.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "tern/dtype.h"

namespace tern::test {

// Ternary types get ternary values times one absmean scale (BitNet weights); others get N(0, 0.02).
inline std::vector<uint8_t> make_weight(DType t, size_t K, size_t N, std::mt19937& rng, float* scale_out) {
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> w(K * N);
  for (auto& v : w) v = nd(rng);
  const float scale = ternary_absmean_scale(w.data(), w.size());
  if (dtype_traits(t)->ternary)
    for (auto& v : w) v = std::clamp(std::nearbyint(v / scale), -1.0f, 1.0f) * scale;
  std::vector<uint8_t> bytes(dtype_tensor_bytes(t, K, N));
  quantize_matrix(t, w.data(), bytes.data(), K, N, scale);
  *scale_out = scale;
  return bytes;
}

// Ternary weights that make integer dots large: mostly +1, times a factor in [0.6, 1.4] x 0.02 per 256
// weights (TQ block scales differ; I2_S, whose tensor scale is 0.02, still rounds each to +-1). With positive
// activations their dots reach tens of thousands, so a group scale times a dot is not exact in float, and an
// epilogue that fused that multiply into an add (FMA) would round differently from the reference.
inline std::vector<uint8_t> make_large_dot_weight(DType t, size_t K, size_t N, std::mt19937& rng,
                                                  float* scale_out) {
  std::uniform_real_distribution<float> factor(0.6f, 1.4f);
  std::vector<float> w(K * N);
  for (size_t i = 0; i < w.size(); i += 256) {
    const float f = 0.02f * factor(rng);
    for (size_t j = i; j < std::min(w.size(), i + 256); ++j) {
      const unsigned r = rng() % 16;
      w[j] = (r < 13 ? 1.0f : r < 15 ? 0.0f : -1.0f) * f;
    }
  }
  std::vector<uint8_t> bytes(dtype_tensor_bytes(t, K, N));
  quantize_matrix(t, w.data(), bytes.data(), K, N, 0.02f);
  *scale_out = 0.02f;
  return bytes;
}

inline std::vector<int8_t> random_i8(size_t n, std::mt19937& rng) {
  std::vector<int8_t> q(n);
  for (auto& v : q) v = int8_t(int(rng() % 256) - 128);  // includes -128, the worst case for saturation
  return q;
}

}  // namespace tern::test
