// Conformance of the AVX2 kernels against the scalar reference: bit-exact for the ternary (integer) paths,
// relative tolerance 1e-4 for float outputs (different summation order; int16 activations in the Q8_0 / Q4
// decode dots).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "reference_kernels.h"
#include "tern/cpu_features.h"
#include "tern/thread_pool.h"
#include "x86_kernels.h"
#include "x86_test_util.h"

using namespace tern;
using x86_test::make_weight;

namespace {

bool cpu_ok() {
  return cpu_features().has("avx2") && cpu_features().has("fma") && cpu_features().has("f16c");
}

class X86Matmul : public ::testing::TestWithParam<DType> {};

TEST_P(X86Matmul, MatchesReferenceOnRaggedShapes) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(unsigned(GetParam()) * 7 + 1);
  EXPECT_EQ(x86_test::check_matmul_against_reference(x86::kAvx2Kernels, GetParam(), rng), "");
}

// q/k/v and gate/up in one call: shared activations (TL2: shared tables), one parallel job over all rows.
TEST_P(X86Matmul, MultiMatchesOneReferenceMatmulPerWeight) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(unsigned(GetParam()) * 3 + 2);
  EXPECT_EQ(x86_test::check_multi_against_reference(x86::kAvx2Kernels, GetParam(), rng), "");
}

INSTANTIATE_TEST_SUITE_P(AllTypes, X86Matmul,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                                           DType::Q4_1, DType::Q4_ZP, DType::I2_S, DType::TQ2_0, DType::TQ1_0,
                                           DType::TL2),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// oneDNN's GEMM (prefill) against the reference: exact for I2_S (integer sums, same epilogue), 1e-4 for
// floats.
TEST(X86Kernels, OneDnnPrefillMatchesReference) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(21);
  ThreadPool pool(2);
  for (DType t : {DType::I2_S, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_1, DType::Q4_ZP, DType::F32}) {
    const size_t K = t == DType::I2_S ? 384 : 96, N = 70, T = 37;  // N: a full and a partial 64-row block
    float scale;
    auto bytes = make_weight(t, K, N, rng, &scale);
    WeightView w{t, bytes.data(), bytes.size(), K, N, scale, nullptr};
    std::normal_distribution<float> nd;
    std::vector<float> x(T * K), y_ref(T * N), y_dnnl(T * N), y_own(T * N);
    for (auto& v : x) v = nd(rng);
    ref::matmul(w, x.data(), y_ref.data(), T, false, pool);
    cpu::matmul(x86::with_onednn(x86::kAvx2Kernels, x86::OneDnnUse::Always), w, x.data(), y_dnnl.data(), T,
                false, pool);
    cpu::matmul(x86::with_onednn(x86::kAvx2Kernels, x86::OneDnnUse::Never), w, x.data(), y_own.data(), T,
                false, pool);
    for (size_t i = 0; i < y_ref.size(); ++i) {
      if (t == DType::I2_S) {
        ASSERT_EQ(y_dnnl[i], y_ref[i]) << i;
        ASSERT_EQ(y_own[i], y_ref[i]) << i;
      } else {
        ASSERT_NEAR(y_dnnl[i], y_ref[i], 1e-4f * (1.0f + std::fabs(y_ref[i]))) << dtype_name(t) << " " << i;
      }
    }
  }
}

TEST(X86Kernels, TernaryIntegerDotsAreExact) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(99);
  for (DType t : {DType::I2_S, DType::TQ2_0}) {
    const size_t K = 768;
    float scale;
    auto bytes = make_weight(t, K, 1, rng, &scale);
    WeightView w{t, bytes.data(), bytes.size(), K, 1, scale, nullptr};
    std::vector<int8_t> q = x86_test::random_i8(K, rng), vals(K);
    std::vector<float> gs(K);
    const size_t group = ref::decode_ternary_row(w, 0, vals.data(), gs.data());
    int32_t qsum = 0;
    for (auto v : q) qsum += v;
    if (t == DType::I2_S) {
      EXPECT_EQ(x86::i2s_dot_codes_avx2(bytes.data(), q.data(), K) - qsum,
                ref::dot_i8(vals.data(), q.data(), K));
    } else {
      for (size_t b = 0; b < K / group; ++b) {
        int32_t bsum = 0;
        for (size_t i = 0; i < 256; ++i) bsum += q[b * 256 + i];
        EXPECT_EQ(x86::tq2_block_dot_codes_avx2(bytes.data() + b * 66, q.data() + b * 256) - bsum,
                  ref::dot_i8(vals.data() + b * 256, q.data() + b * 256, 256));
      }
    }
  }
}

// The decode GEMV (rows in memory order, sums reduced four rows at a time) against the reference, row by row.
TEST(X86Kernels, I2SGemvMatchesTheReferenceRowByRow) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(31);
  for (size_t n_rows = 1; n_rows <= 9; ++n_rows) {
    const size_t K = 384;
    float scale;
    auto bytes = make_weight(DType::I2_S, K, n_rows, rng, &scale);
    WeightView w{DType::I2_S, bytes.data(), bytes.size(), K, n_rows, scale, nullptr};
    const std::vector<int8_t> q = x86_test::random_i8(K, rng);
    std::vector<int8_t> vals(K);
    std::vector<float> gs(K);
    int32_t qsum = 0;
    for (auto v : q) qsum += v;
    std::vector<int32_t> got(n_rows);
    x86::i2s_gemv_codes_avx2(bytes.data(), n_rows, q.data(), K, got.data());
    for (size_t r = 0; r < n_rows; ++r) {
      ref::decode_ternary_row(w, r, vals.data(), gs.data());
      EXPECT_EQ(got[r] - qsum, ref::dot_i8(vals.data(), q.data(), K)) << n_rows << " " << r;
    }
  }
}

// The GEMV's int16 sums at their worst: code 2 (+1) is the largest a valid file holds, code 3 what a corrupt
// one can, and -128 / 127 the activation extremes. K spans several int16 runs and ends in a ragged one.
TEST(X86Kernels, I2SGemvIsExactAtTheInt16Limits) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  const size_t K = 128 * 21, n_rows = 5;
  for (uint8_t byte : {uint8_t(0xAA), uint8_t(0xFF)})
    for (int8_t qv : {int8_t(-128), int8_t(127)}) {
      const std::vector<uint8_t> rows(n_rows * K / 4, byte);
      const std::vector<int8_t> q(K, qv);
      std::vector<int32_t> got(n_rows);
      x86::i2s_gemv_codes_avx2(rows.data(), n_rows, q.data(), K, got.data());
      for (size_t r = 0; r < n_rows; ++r)
        EXPECT_EQ(got[r], (byte & 3) * qv * int32_t(K)) << int(byte) << " " << r;
    }
}

TEST(X86Kernels, TQ1DecodesEveryByteValueExactly) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(13);
  for (int trial = 0; trial < 256 + 32; ++trial) {
    // Arbitrary bytes, not only those the quantizer writes: trials 0-255 put every byte value in every
    // position.
    uint8_t blk[54];
    for (int i = 0; i < 52; ++i) blk[i] = trial < 256 ? uint8_t(i + trial) : uint8_t(rng());
    const uint16_t one = fp32_to_fp16(1.0f);
    std::memcpy(blk + 52, &one, 2);
    std::vector<float> trits(256);
    dequantize_row(DType::TQ1_0, blk, trits.data(), 256);
    const std::vector<int8_t> q = x86_test::random_i8(256, rng);
    int32_t want = 0;
    for (int i = 0; i < 256; ++i) want += (int32_t(trits[i]) + 1) * q[i];
    ASSERT_EQ(x86::tq1_block_dot_codes_avx2(blk, q.data()), want) << trial;
  }
}

TEST(X86Kernels, I2SGemmEqualsRowDotsAtTheInt16Limits) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(7);
  const size_t K = 128 * 21;  // more than one 8-block int16 accumulation run, and a ragged last run
  // All +1 weights against -128 activations is the largest partial sum a block can make.
  std::vector<float> ones(K, 1.0f);
  std::vector<uint8_t> row(dtype_tensor_bytes(DType::I2_S, K, 1));
  quantize_matrix(DType::I2_S, ones.data(), row.data(), K, 1, 1.0f);
  for (int trial = 0; trial < 2; ++trial) {
    const std::vector<int8_t> q =
        trial == 0 ? std::vector<int8_t>(4 * K, -128) : x86_test::random_i8(4 * K, rng);
    int32_t got[4];
    x86::i2s_gemm_codes_avx2(row.data(), 1, q.data(), 4, K, got);
    for (size_t t = 0; t < 4; ++t) {
      EXPECT_EQ(got[t], x86::i2s_dot_codes_avx2(row.data(), q.data() + t * K, K)) << t;
      if (trial == 0) {
        EXPECT_EQ(got[t], 2 * -128 * int32_t(K));  // codes are weight + 1
      }
    }
  }
}

// Every tile shape the prefill kernels use (2 or 1 rows, 4 to 1 tokens), on arbitrary bytes (code 3
// included).
TEST(X86Kernels, PrefillGemmsEqualScalarSumsForRaggedRowsAndTokens) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  EXPECT_EQ(x86_test::check_ternary_gemm(DType::I2_S, x86::i2s_gemm_codes_avx2), "");
  EXPECT_EQ(x86_test::check_ternary_gemm(DType::TQ2_0, x86::tq2_gemm_dots_avx2), "");
  EXPECT_EQ(x86_test::check_ternary_gemm(DType::TQ1_0, x86::tq1_gemm_dots_avx2), "");
}

TEST(X86Kernels, TL2TileDotIsExactAtTheInt16Limits) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(11);
  // 17 super-blocks: one full 16-super-block int16 run and a ragged one; K is not a multiple of 3.
  EXPECT_EQ(x86_test::check_tl2_tile_dot(x86::tl2_tile_dot_avx2, 3 * 8 * 17 - 2, rng), "");
}

TEST(X86Kernels, ActivationQuantizationIsBitExact) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (size_t k : {1, 7, 32, 33, 2560, 6913}) {
    std::vector<float> x(k);
    for (auto& v : x) v = nd(rng);
    // Ties and near-ties: with amax 127 the scale is exactly 1, so these are rounded as written.
    const float special[] = {127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 0.49999997f, -0.49999997f, 126.5f, -127.0f};
    if (k > 16)
      for (size_t i = 0; i < std::size(special); ++i) x[i] = special[i];
    std::vector<int8_t> a(k), b(k);
    const float sa = ref::quantize_activations_i8(x.data(), a.data(), k);
    const float sb = x86::quantize_activations_avx2(x.data(), b.data(), k);
    EXPECT_EQ(sa, sb) << k;
    EXPECT_EQ(a, b) << k;
  }
  std::vector<float> zeros(64, 0.0f);  // all-zero activations: the 1e-5 floor keeps the scale finite
  std::vector<int8_t> a(64), b(64);
  EXPECT_EQ(ref::quantize_activations_i8(zeros.data(), a.data(), 64),
            x86::quantize_activations_avx2(zeros.data(), b.data(), 64));
  EXPECT_EQ(a, b);
}

TEST(X86Kernels, GatedActivationIsBitExact) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(41);
  std::normal_distribution<float> nd;
  for (Activation act : {Activation::Relu2, Activation::Silu}) {
    const size_t n = 6913;  // a ragged tail after the vectors
    std::vector<float> g(n), u(n), a(n), b(n);
    for (size_t i = 0; i < n; ++i) g[i] = nd(rng), u[i] = nd(rng);
    g[0] = NAN, g[1] = -0.0f, g[2] = 0.0f, u[3] = INFINITY;  // the reference's zero for NaN and -0 gates
    ref::gated_activation(g.data(), u.data(), a.data(), n, act);
    x86::gated_activation_avx2(g.data(), u.data(), b.data(), n, act);
    for (size_t i = 0; i < n; ++i)
      ASSERT_TRUE(std::memcmp(&a[i], &b[i], 4) == 0 || (std::isnan(a[i]) && std::isnan(b[i])))
          << int(act) << " " << i << ": " << a[i] << " vs " << b[i];
  }
}

// Token counts around the eight-token groups (and a ragged rest), row sizes around the vectors, in place too.
TEST(X86Kernels, RmsNormIsBitIdenticalToTheReference) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(43);
  std::normal_distribution<float> nd;
  for (size_t T : {1, 7, 8, 9, 17, 40})
    for (size_t dim : {1, 7, 8, 300, 2560}) {
      std::vector<float> x(T * dim), w(dim), want(T * dim), got(T * dim);
      for (auto& v : x) v = nd(rng) * 4.0f;
      for (auto& v : w) v = nd(rng);
      ref::rms_norm(x.data(), w.data(), want.data(), T, dim, 1e-5f);
      x86::rms_norm_avx2(x.data(), w.data(), got.data(), T, dim, 1e-5f);
      ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0) << T << " x " << dim;
      x86::rms_norm_avx2(x.data(), w.data(), x.data(), T, dim, 1e-5f);  // y == x, as the model calls it
      ASSERT_EQ(std::memcmp(x.data(), want.data(), x.size() * 4), 0) << T << " x " << dim << " in place";
    }
}

// Decode (one token) and prefill (several, causal), plain heads and GQA groups of 2, 3, 4 and 8 (the kernel
// shares key loads among up to 4 heads), context lengths around its 8- and 16-key blocks, and a head size it
// leaves to the reference (12), for every KV cache type read in place (Q8_0 on head sizes of whole blocks):
// every output bit as the reference's.
TEST(X86Kernels, AttentionIsBitIdenticalToTheReference) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  ThreadPool pool(2);
  struct Shape {
    size_t n_tokens, pos0, n_head, n_head_kv, head_dim;
  };
  for (const DType cache : kv_cache_types())
    for (const Shape s :
         {Shape{1, 0, 4, 4, 64}, Shape{1, 30, 20, 5, 128}, Shape{1, 7, 8, 2, 32}, Shape{5, 11, 4, 2, 64},
          Shape{17, 0, 2, 1, 128}, Shape{3, 4, 3, 3, 12}, Shape{2, 40, 6, 3, 72}, Shape{3, 9, 6, 2, 64},
          Shape{2, 20, 8, 1, 32}, Shape{4, 13, 6, 3, 72}, Shape{6, 3, 8, 2, 32}, Shape{9, 0, 3, 1, 16},
          Shape{5, 2, 8, 1, 64}, Shape{4, 0, 4, 4, 64}}) {
      if (s.head_dim % dtype_traits(cache)->block_size != 0) continue;
      const size_t n_ctx = s.pos0 + s.n_tokens, kv_dim = s.n_head_kv * s.head_dim,
                   q_dim = s.n_head * s.head_dim, row_bytes = dtype_row_bytes(cache, kv_dim);
      std::vector<float> q(s.n_tokens * q_dim), kf(n_ctx * kv_dim), vf(n_ctx * kv_dim);
      for (auto* vec : {&q, &kf, &vf})
        for (auto& x : *vec) x = nd(rng);
      std::vector<uint8_t> k(n_ctx * row_bytes), v(n_ctx * row_bytes);
      quantize_matrix(cache, kf.data(), k.data(), kv_dim, n_ctx);
      quantize_matrix(cache, vf.data(), v.data(), kv_dim, n_ctx);
      std::vector<float> want(q.size()), got(q.size());
      AttentionArgs a{q.data(), k.data(), v.data(),    want.data(), s.n_tokens,
                      s.pos0,   s.n_head, s.n_head_kv, s.head_dim,  1.0f / std::sqrt(float(s.head_dim)),
                      cache,    cache};
      ref::attention(a, pool);
      a.out = got.data();
      cpu::attention(x86::kAvx2Kernels.attention, a, pool);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
            << dtype_name(cache) << " n_tokens " << s.n_tokens << " pos0 " << s.pos0 << " heads " << s.n_head
            << "/" << s.n_head_kv << " head_dim " << s.head_dim << " output " << i << ": " << got[i] << " vs "
            << want[i];
    }
}

// Decode's row dots take blocks in pairs, and the Q4 ones add m * (sum of x) per block from sums computed
// aside: every block count from 1 to 9 (odd ones end on a single block), with activations whose block sums
// are far from zero, against the reference within the float tolerance.
TEST(X86Kernels, DecodeRowDotsMatchReferenceForEveryBlockCount) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(11);
  ThreadPool pool(1);
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_ZP})
    for (size_t n_blocks = 1; n_blocks <= 9; ++n_blocks) {
      const size_t K = 32 * n_blocks, N = 5;
      float scale;
      auto bytes = make_weight(t, K, N, rng, &scale);
      const WeightView w{t, bytes.data(), bytes.size(), K, N, scale, nullptr};
      std::normal_distribution<float> nd(0.5f, 1.0f);
      std::vector<float> x(K), y_ref(N), y(N);
      for (auto& v : x) v = nd(rng);
      ref::matmul(w, x.data(), y_ref.data(), 1, false, pool);
      cpu::matmul(x86::kAvx2Kernels, w, x.data(), y.data(), 1, false, pool);
      EXPECT_EQ(x86_test::first_mismatch(t, y, y_ref), "") << "K=" << K;
    }
}

// The int16 activations of the Q8_0 / Q4 decode dots, against a scalar model of quantize_blocks_i16_avx2:
// identical values and scales, including an all-zero block (scale 0) and a NaN (which must reach the
// outputs).
TEST(X86Kernels, Int16BlockQuantizationMatchesItsScalarDefinition) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(17);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  const size_t K = 32 * 6;
  std::vector<float> x(K);
  for (auto& v : x) v = nd(rng);
  x[5] = 900.0f;                                    // an outlier: the block's other values get coarse
  std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // block 2: all zero
  x[32 * 4 + 7] = std::nanf("");                    // block 4: a NaN
  x[32 * 5 + 3] = -x[32 * 5 + 9];                   // ties in magnitude
  std::vector<int16_t> xq(K);
  std::vector<float> scales(K / 16);
  x86::quantize_blocks_i16_avx2(x.data(), K, xq.data(), scales.data());
  for (size_t b = 0; b < K / 32; ++b) {
    float amax = 0;
    for (size_t i = 32 * b; i < 32 * b + 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    if (b == 4) {
      EXPECT_TRUE(std::isnan(scales[2 * b]) && std::isnan(scales[2 * b + 1])) << "NaN block";
      continue;
    }
    const float inv = amax > 0 ? 32767.0f / amax : 0.0f, s = amax / 32767.0f;
    int32_t sum = 0;
    for (size_t i = 32 * b; i < 32 * b + 32; ++i) {
      const int16_t want = int16_t(std::nearbyint(x[i] * inv));
      ASSERT_EQ(xq[i], want) << "block " << b << " element " << i;
      ASSERT_LE(std::fabs(s * float(xq[i]) - x[i]), 0.5f * s * (1 + 1e-5f) + 1e-30f) << i;
      sum += want;
    }
    EXPECT_EQ(scales[2 * b], s) << b;
    EXPECT_EQ(scales[2 * b + 1], s * float(sum)) << b;
  }
}

// The decode dots against a double-precision sum of the same int16 formula, for every block count from 1 to
// 9 (the loop takes blocks in pairs): the kernels add no error of their own beyond float rounding.
TEST(X86Kernels, Int16DecodeDotsEqualTheirFormulaInDouble) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(23);
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_ZP})
    for (size_t n_blocks = 1; n_blocks <= 9; ++n_blocks) {
      const size_t K = 32 * n_blocks;
      float scale;
      const auto row = make_weight(t, K, 1, rng, &scale);
      std::normal_distribution<float> nd(0.5f, 1.0f);
      std::vector<float> x(K), w(K), scales(K / 16);
      for (auto& v : x) v = nd(rng);
      std::vector<int16_t> xq(K);
      x86::quantize_blocks_i16_avx2(x.data(), K, xq.data(), scales.data());
      dequantize_row(t, row.data(), w.data(), K);  // d * q + m, exactly as the kernels see the weights
      double want = 0, magnitude = 0;
      for (size_t i = 0; i < K; ++i) {
        want += double(w[i]) * double(scales[2 * (i / 32)]) * double(xq[i]);
        magnitude += std::fabs(double(w[i]) * double(scales[2 * (i / 32)]) * double(xq[i]));
      }
      const float got =
          t == DType::Q8_0   ? x86::dot_q8_0_i16_avx2(row.data(), xq.data(), scales.data(), K)
          : t == DType::Q4_0 ? x86::dot_q4_i16_avx2<DType::Q4_0>(row.data(), xq.data(), scales.data(), K)
          : t == DType::Q4_1 ? x86::dot_q4_i16_avx2<DType::Q4_1>(row.data(), xq.data(), scales.data(), K)
                             : x86::dot_q4_i16_avx2<DType::Q4_ZP>(row.data(), xq.data(), scales.data(), K);
      EXPECT_NEAR(got, want, 2e-6 * magnitude) << dtype_name(t) << " K=" << K;
    }
}

TEST(X86Kernels, DequantizeMatchesReferenceExactly) {
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks avx2/fma/f16c";
  std::mt19937 rng(5);
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_ZP}) {
    const size_t K = 96;
    float scale;
    auto bytes = make_weight(t, K, 1, rng, &scale);
    std::vector<float> a(K), b(K);
    dequantize_row(t, bytes.data(), a.data(), K);
    ASSERT_TRUE(x86::dequantize_row_avx2(t, bytes.data(), b.data(), K));
    for (size_t i = 0; i < K; ++i)
      ASSERT_NEAR(a[i], b[i], t == DType::Q4_0 || t == DType::Q4_1 ? 1e-6f * (1 + std::fabs(a[i])) : 0.0f)
          << dtype_name(t) << " " << i;  // Q4 uses an FMA (d*q + m in one rounding)
  }
}

}  // namespace
