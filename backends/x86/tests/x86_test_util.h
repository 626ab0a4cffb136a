#pragma once
// Shared by the x86 kernel tests: random weights of any type, as the models hold them.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "reference_kernels.h"
#include "tern/dtype.h"
#include "tern/thread_pool.h"
#include "x86_kernels.h"

namespace tern::x86_test {

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

// matmul_x86_multi against one ref::matmul per weight: three weights of type t with the same K and different
// N, for decode, a few tokens and a oneDNN-sized batch. Returns the first mismatch, or "" (exact for ternary
// types, relative 1e-4 for float ones).
inline std::string check_multi_against_reference(const x86::TernaryKernels& kernels, DType t,
                                                 std::mt19937& rng) {
  ThreadPool pool(2);
  const size_t K = t == DType::TL2 ? 1 + rng() % 900 : dtype_traits(t)->block_size * (1 + rng() % 4) * 4;
  for (size_t T : {1, 3, 70}) {
    std::vector<std::vector<uint8_t>> bytes(3);
    std::vector<WeightView> w(3);
    std::vector<std::vector<float>> y_ref(3), y_x86(3);
    std::normal_distribution<float> nd;
    std::vector<float> x(T * K);
    for (auto& v : x) v = nd(rng);
    for (size_t i = 0; i < 3; ++i) {
      const size_t N = 1 + rng() % 70;
      float scale;
      bytes[i] = make_weight(t, K, N, rng, &scale);
      w[i] = {t, bytes[i].data(), bytes[i].size(), K, N, scale, nullptr};
      y_ref[i].resize(T * N);
      y_x86[i].assign(T * N, NAN);
      ref::matmul(w[i], x.data(), y_ref[i].data(), T, true, pool);
    }
    const WeightView* ws[] = {&w[0], &w[1], &w[2]};
    float* const ys[] = {y_x86[0].data(), y_x86[1].data(), y_x86[2].data()};
    x86::matmul_x86_multi(kernels, ws, ys, 3, x.data(), T, true, pool);
    for (size_t i = 0; i < 3; ++i)
      for (size_t j = 0; j < y_ref[i].size(); ++j) {
        const float a = y_x86[i][j], b = y_ref[i][j];
        if (dtype_traits(t)->ternary ? !(a == b) : !(std::fabs(a - b) <= 1e-4f * (1.0f + std::fabs(b))))
          return std::string(dtype_name(t)) + " K=" + std::to_string(K) + " T=" + std::to_string(T) +
                 " weight " + std::to_string(i) + " [" + std::to_string(j) + "]: " + std::to_string(a) +
                 " != " + std::to_string(b);
      }
  }
  return "";
}

}  // namespace tern::x86_test
