// Conformance of the AMX prefill kernels: the AMX-INT8 ternary ones exact against scalar sums on arbitrary
// bytes and, through the shared matmul driver, bit-identical to the reference; the AMX-BF16 float one within
// the float tolerance. AMX has no emulator: on CPUs without it (or where Linux does not grant the tile state)
// every test here skips and says so.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "amx_kernels.h"
#include "reference_kernels.h"
#include "tern/cpu_features.h"
#include "tern/thread_pool.h"
#include "x86_test_util.h"

using namespace tern;

namespace {

bool cpu_ok() {
  const auto& f = cpu_features();
  bool ok = true;
  for (const char* x : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni", "avx512bf16",
                        "amx_tile", "amx_int8", "amx_bf16"})
    ok = ok && f.has(x);
  return ok;
}
#define TERN_REQUIRE_AMX()                                                                             \
  if (!cpu_ok())                                                                                       \
  GTEST_SKIP() << "no AMX-INT8 here (not emulable; skipped): the CPU lacks it or Linux did not grant " \
                  "the tile state; CPU flags: "                                                        \
               << cpu_features().flags_string()

class AmxMatmul : public ::testing::TestWithParam<DType> {};

// Row and token counts around the 16 x 16 tiles and the 2 x 2 blocks of them: single rows / tokens, one
// short of a tile, whole tiles, one past, three tiles, and more tokens than one block; below 8 tokens the
// VNNI kernels run instead.
TEST_P(AmxMatmul, GemmDotsAreExactOnArbitraryBytes) {
  TERN_REQUIRE_AMX();
  const DType t = GetParam();
  const auto gemm = t == DType::I2_S    ? x86::i2s_gemm_codes_amx
                    : t == DType::TQ2_0 ? x86::tq2_gemm_dots_amx
                                        : x86::tq1_gemm_dots_amx;
  EXPECT_EQ(
      x86_test::check_ternary_gemm(t, gemm, {1, 15, 16, 17, 33, 64}, {1, 7, 8, 15, 16, 17, 33, 64, 100}), "");
}

TEST_P(AmxMatmul, MatchesReferenceOnRaggedShapes) {
  TERN_REQUIRE_AMX();
  std::mt19937 rng(unsigned(GetParam()) * 11 + 3);
  EXPECT_EQ(x86_test::check_matmul_against_reference(x86::kAmxKernels, GetParam(), rng), "");
}

TEST_P(AmxMatmul, MultiMatchesOneReferenceMatmulPerWeight) {
  TERN_REQUIRE_AMX();
  std::mt19937 rng(unsigned(GetParam()) * 5 + 1);
  EXPECT_EQ(x86_test::check_multi_against_reference(x86::kAmxKernels, GetParam(), rng), "");
}

INSTANTIATE_TEST_SUITE_P(TernaryTypes, AmxMatmul, ::testing::Values(DType::I2_S, DType::TQ2_0, DType::TQ1_0),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Q8_0 / Q4_0 / Q4_1 prefill on AMX-BF16 against ref::matmul, within the float types' tolerance (1e-4
// relative): one block and more, ragged rows (one to three row tiles of a job, jobs split over two threads),
// token counts from the smallest it takes through partial tiles.
TEST(AmxKernels, FloatGemmStaysWithinTheFloatTolerance) {
  TERN_REQUIRE_AMX();
  ThreadPool pool(2);
  std::mt19937 rng(47);
  std::normal_distribution<float> nd;
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1})
    for (size_t K : {32, 96, 576})
      for (size_t N : {1, 17, 45, 70})
        for (size_t T : {x86::kAmxFloatMinTokens, size_t(17), size_t(40)}) {
          float scale;
          auto bytes = x86_test::make_weight(t, K, N, rng, &scale);
          WeightView w{t, bytes.data(), bytes.size(), K, N, scale, nullptr};
          std::vector<float> x(T * K), want(T * N), got(T * N, NAN);
          for (auto& v : x) v = nd(rng);
          ASSERT_TRUE(x86::amx_float_gemm_takes(t, T));
          ref::matmul(w, x.data(), want.data(), T, false, pool);
          x86::amx_float_gemm(w, x.data(), got.data(), T, pool);
          ASSERT_EQ(x86_test::first_mismatch(t, got, want), "") << "K=" << K << " N=" << N << " T=" << T;
        }
}

// All +1 weights against -128 activations: the largest sum a row can make, over more than one 2 x 2 block
// of tiles and a partial token tile.
TEST(AmxKernels, I2SGemmIsExactAtTheLimits) {
  TERN_REQUIRE_AMX();
  const size_t K = 128 * 21, rows = 20, tokens = 37;
  std::vector<float> ones(K * rows, 1.0f);
  std::vector<uint8_t> w(dtype_tensor_bytes(DType::I2_S, K, rows));
  quantize_matrix(DType::I2_S, ones.data(), w.data(), K, rows, 1.0f);
  std::vector<int8_t> q(tokens * K, -128);
  std::vector<int32_t> got(tokens * rows);
  x86::i2s_gemm_codes_amx(w.data(), rows, q.data(), tokens, K, got.data());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], 2 * -128 * int32_t(K)) << i;
}

}  // namespace
