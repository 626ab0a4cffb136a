#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "reference_kernels.h"
#include "tern/thread_pool.h"

using namespace tern;

namespace {

// A weight whose ternary values are known, stored in `type`; expected(...) recomputes W x from those values.
struct TernaryWeight {
  DType type;
  size_t k, n;
  std::vector<int8_t> trits;
  std::vector<float> group_scale;  // per 256 block (TQ*) or one (I2_S)
  std::vector<uint8_t> bytes;
  WeightView view;

  TernaryWeight(DType t, size_t k_, size_t n_, uint32_t seed) : type(t), k(k_), n(n_), trits(k_ * n_) {
    std::mt19937 rng(seed);
    for (auto& v : trits) v = int8_t(int(rng() % 3) - 1);
    const bool whole = dtype_tensor_scaled(t);
    const size_t group = whole ? k * n : 256;
    for (size_t g = 0; g < k * n / group; ++g)
      group_scale.push_back(whole ? 0.0125f : fp16_to_fp32(fp32_to_fp16(0.01f + 0.001f * float(g % 7))));
    std::vector<float> w(k * n);
    for (size_t i = 0; i < w.size(); ++i) w[i] = float(trits[i]) * group_scale[i / group];
    for (size_t g = 0; g < w.size() / 256 && !whole; ++g) {  // block max must equal the scale
      bool any = false;
      for (size_t j = 0; j < 256; ++j) any |= trits[g * 256 + j] != 0;
      if (!any) trits[g * 256] = 1, w[g * 256] = group_scale[g];
    }
    bytes.resize(dtype_tensor_bytes(t, k, n));
    quantize_matrix(t, w.data(), bytes.data(), k, n, group_scale[0]);
    view = {t, bytes.data(), bytes.size(), k, n, tensor_scale(t, bytes.data(), k, n), nullptr};
  }

  std::vector<float> expected(const std::vector<float>& x, size_t T) const {
    std::vector<float> y(T * n);
    std::vector<int8_t> q(k);
    for (size_t t = 0; t < T; ++t) {
      const float s = ref::quantize_activations_i8(x.data() + t * k, q.data(), k);
      for (size_t r = 0; r < n; ++r) {
        double acc = 0;
        for (size_t i = 0; i < k; ++i) {
          const size_t idx = r * k + i;
          acc += double(group_scale[dtype_tensor_scaled(type) ? 0 : idx / 256]) * trits[idx] * q[i];
        }
        y[t * n + r] = float(acc / s);
      }
    }
    return y;
  }
};

}  // namespace

TEST(ReferenceKernels, ActivationQuantizationIsAbsmaxInt8) {
  const float x[4] = {0.5f, -1.0f, 0.25f, 0.0f};
  int8_t q[4];
  const float s = ref::quantize_activations_i8(x, q, 4);
  EXPECT_FLOAT_EQ(s, 127.0f);
  EXPECT_EQ(q[0], 64);  // 63.5 rounds half away from zero, as the C reference implementation does
  EXPECT_EQ(q[1], -127);
  EXPECT_EQ(q[2], 32);
  EXPECT_EQ(q[3], 0);
}

class TernaryMatmul : public ::testing::TestWithParam<DType> {};

TEST_P(TernaryMatmul, MatchesIntegerDotOfKnownTrits) {
  ThreadPool pool(2);
  for (auto [k, n, T] : {std::tuple{256, 8, 1}, {512, 33, 3}, {768, 5, 2}}) {
    if (dtype_tiled(GetParam())) k += 1;  // TL1 / TL2 take any row length; make the last group ragged
    TernaryWeight w(GetParam(), size_t(k), size_t(n), uint32_t(k + n));
    std::mt19937 rng(3);
    std::normal_distribution<float> nd;
    std::vector<float> x(size_t(T * k)), y(size_t(T * n));
    for (auto& v : x) v = nd(rng);
    ref::matmul(w.view, x.data(), y.data(), size_t(T), true, pool);
    const auto want = w.expected(x, size_t(T));
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-5f * (1 + std::fabs(want[i]))) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTernaryTypes, TernaryMatmul,
                         ::testing::Values(DType::I2_S, DType::TQ1_0, DType::TQ2_0, DType::TL2, DType::TL1),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(ReferenceKernels, FloatMatmulMatchesNaive) {
  ThreadPool pool(1);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  const size_t K = 64, N = 7, T = 3;
  std::vector<float> w(K * N), x(T * K), y(T * N);
  for (auto& v : w) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  WeightView view{DType::F32, reinterpret_cast<const uint8_t*>(w.data()), w.size() * 4, K, N, 1.0f, nullptr};
  ref::matmul(view, x.data(), y.data(), T, false, pool);
  for (size_t t = 0; t < T; ++t)
    for (size_t n = 0; n < N; ++n) {
      double acc = 0;
      for (size_t k = 0; k < K; ++k) acc += double(w[n * K + k]) * x[t * K + k];
      EXPECT_NEAR(y[t * N + n], acc, 1e-4);
    }
}

TEST(ReferenceKernels, RopeConventionsAgreeUnderTheLlamaCppPermutation) {
  // llama.cpp's converter permutes q/k rows so that rotate-half pairs (i, i + d/2) become (2i, 2i + 1).
  const size_t hd = 16, heads = 2;
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  std::vector<float> half(heads * hd), inter(heads * hd);
  for (auto& v : half) v = nd(rng);
  for (size_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < hd / 2; ++i) {
      inter[h * hd + 2 * i] = half[h * hd + i];
      inter[h * hd + 2 * i + 1] = half[h * hd + i + hd / 2];
    }
  const int32_t pos = 37;
  ref::rope(half.data(), 1, heads, hd, &pos, 10000.0f, RopeStyle::RotateHalf);
  ref::rope(inter.data(), 1, heads, hd, &pos, 10000.0f, RopeStyle::Interleaved);
  for (size_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < hd / 2; ++i) {
      EXPECT_FLOAT_EQ(inter[h * hd + 2 * i], half[h * hd + i]);
      EXPECT_FLOAT_EQ(inter[h * hd + 2 * i + 1], half[h * hd + i + hd / 2]);
    }
  std::vector<float> x0(hd, 1.5f), x1 = x0;
  const int32_t zero = 0;
  ref::rope(x1.data(), 1, 1, hd, &zero, 10000.0f, RopeStyle::Interleaved);
  EXPECT_EQ(x0, x1);  // position 0 is the identity
}

TEST(ReferenceKernels, AttentionIsCausalWithGroupedKvHeads) {
  ThreadPool pool(2);
  const size_t hd = 4, n_head = 4, n_kv = 2, T = 2;
  // Two cached positions; head h uses kv head h / 2.
  std::vector<float> k(2 * n_kv * hd, 0.0f), v(2 * n_kv * hd), q(T * n_head * hd, 0.0f), out(T * n_head * hd);
  for (size_t j = 0; j < 2; ++j)
    for (size_t g = 0; g < n_kv; ++g)
      for (size_t d = 0; d < hd; ++d) v[(j * n_kv + g) * hd + d] = float(10 * j + g);
  AttentionArgs a;
  a.q = q.data();
  a.k_cache = k.data();
  a.v_cache = v.data();
  a.out = out.data();
  a.n_tokens = T;
  a.pos0 = 0;
  a.n_head = n_head;
  a.n_head_kv = n_kv;
  a.head_dim = hd;
  a.scale = 0.5f;
  ref::attention(a, pool);
  for (size_t h = 0; h < n_head; ++h) {
    EXPECT_FLOAT_EQ(out[h * hd], float(h / 2));  // token 0 sees only position 0
    EXPECT_FLOAT_EQ(out[(n_head + h) * hd], (0.0f + 10.0f) / 2 + float(h / 2));  // token 1: uniform over both
  }
}

// A cache held in F16 or Q8_0 attends exactly as an F32 cache holding its dequantized values: the types
// change what is stored, never the arithmetic.
TEST(ReferenceKernels, AttentionOnAQuantizedCacheIsAttentionOnItsValues) {
  ThreadPool pool(2);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const size_t hd = 64, n_head = 6, n_kv = 2, T = 3, pos0 = 9, n_ctx = pos0 + T, kv_dim = n_kv * hd;
  std::vector<float> q(T * n_head * hd), kf(n_ctx * kv_dim), vf(n_ctx * kv_dim);
  for (auto* vec : {&q, &kf, &vf})
    for (auto& x : *vec) x = nd(rng);
  for (DType type : kv_cache_types()) {
    std::vector<uint8_t> k(n_ctx * dtype_row_bytes(type, kv_dim)), v(k.size());
    quantize_matrix(type, kf.data(), k.data(), kv_dim, n_ctx);
    quantize_matrix(type, vf.data(), v.data(), kv_dim, n_ctx);
    std::vector<float> kd(kf.size()), vd(vf.size()), got(q.size()), want(q.size());
    dequantize_matrix(type, k.data(), kd.data(), kv_dim, n_ctx);
    dequantize_matrix(type, v.data(), vd.data(), kv_dim, n_ctx);
    if (type != DType::F32) {
      EXPECT_NE(kd, kf) << dtype_name(type) << " should round";
    }
    AttentionArgs a{q.data(), k.data(), v.data(), got.data(), T, pos0, n_head, n_kv, hd, 0.125f, type, type};
    ref::attention(a, pool);
    AttentionArgs f{q.data(), kd.data(), vd.data(), want.data(), T, pos0, n_head, n_kv, hd, 0.125f};
    ref::attention(f, pool);
    EXPECT_EQ(got, want) << dtype_name(type);
  }
}

TEST(ReferenceKernels, GatedActivations) {
  const float g[3] = {-1.0f, 0.0f, 2.0f}, u[3] = {2.0f, 3.0f, 0.5f};
  float o[3];
  ref::gated_activation(g, u, o, 3, Activation::Relu2);
  EXPECT_FLOAT_EQ(o[0], 0.0f);
  EXPECT_FLOAT_EQ(o[2], 2.0f);
  ref::gated_activation(g, u, o, 3, Activation::Silu);
  EXPECT_FLOAT_EQ(o[0], -2.0f / (1.0f + std::exp(1.0f)));
  EXPECT_FLOAT_EQ(o[1], 0.0f);
}
