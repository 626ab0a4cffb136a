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

inline std::vector<int8_t> random_i8(size_t n, std::mt19937& rng) {
  std::vector<int8_t> q(n);
  for (auto& v : q) v = int8_t(int(rng() % 256) - 128);  // includes -128, the worst case for saturation
  return q;
}

}  // namespace tern::test
