// Conformance of the AVX-512 VNNI kernels: bit-exact against the scalar reference (through the shared matmul
// driver, on ragged shapes) and against the AVX2 kernels (on arbitrary bytes). Built twice: natively, where
// it runs only on CPUs with AVX-512, and against SIMDe's portable AVX-512 (TERN_X86_AVX512_SIMDE), where it
// always runs.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "reference_kernels.h"
#include "tern/cpu_features.h"
#include "tern/thread_pool.h"
#include "x86_kernels_avx512.h"
#include "x86_test_util.h"

using namespace tern;
using x86_test::make_weight;
using x86_test::random_i8;

namespace {

// The AVX2 kernels run too (as the oracle for arbitrary bytes, and for TQ1_0 and activation quantization).
bool cpu_ok() {
  const auto& f = cpu_features();
  bool ok = f.has("avx2") && f.has("fma") && f.has("f16c");
#if !defined(TERN_X86_AVX512_SIMDE)
  for (const char* x : {"avx512f", "avx512bw", "avx512vl", "avx512vnni"}) ok = ok && f.has(x);
#endif
  return ok;
}
#define TERN_REQUIRE_CPU() \
  if (!cpu_ok()) GTEST_SKIP() << "CPU lacks the features of these kernels: " << cpu_features().flags_string()

class Avx512Matmul : public ::testing::TestWithParam<DType> {};

TEST_P(Avx512Matmul, MatchesReferenceOnRaggedShapes) {
  TERN_REQUIRE_CPU();
  std::mt19937 rng(unsigned(GetParam()) * 13 + 5);
  EXPECT_EQ(x86_test::check_matmul_against_reference(x86::kAvx512VnniKernels, GetParam(), rng), "");
}

TEST_P(Avx512Matmul, MultiMatchesOneReferenceMatmulPerWeight) {
  TERN_REQUIRE_CPU();
  std::mt19937 rng(unsigned(GetParam()) * 3 + 7);
  EXPECT_EQ(x86_test::check_multi_against_reference(x86::kAvx512VnniKernels, GetParam(), rng), "");
}

INSTANTIATE_TEST_SUITE_P(TernaryTypes, Avx512Matmul,
                         ::testing::Values(DType::I2_S, DType::TQ2_0, DType::TQ1_0, DType::TL2),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Any bytes, not only those the quantizers write (I2_S code 3 included): the kernels compute the same sums of
// code * q as the AVX2 kernels.
TEST(Avx512Kernels, CodeDotsEqualTheAvx2KernelsOnArbitraryBytes) {
  TERN_REQUIRE_CPU();
  std::mt19937 rng(17);
  for (size_t k : {128, 256, 384, 128 * 21}) {  // odd and even block counts: pairs and a tail
    std::vector<uint8_t> row(k / 4);
    for (auto& b : row) b = uint8_t(rng());
    const std::vector<int8_t> q = random_i8(k, rng);
    EXPECT_EQ(x86::i2s_dot_codes_avx512vnni(row.data(), q.data(), k),
              x86::i2s_dot_codes_avx2(row.data(), q.data(), k));
  }
  EXPECT_EQ(x86_test::check_ternary_gemm(DType::I2_S, x86::i2s_gemm_codes_avx512vnni), "");
  EXPECT_EQ(x86_test::check_ternary_gemm(DType::TQ2_0, x86::tq2_gemm_dots_avx512vnni), "");
  for (size_t n_rows = 1; n_rows <= 9; ++n_rows) {  // decode: four-row reductions and a ragged tail
    const size_t k = 256;
    std::vector<uint8_t> rows(n_rows * k / 4);
    for (auto& b : rows) b = uint8_t(rng());
    const std::vector<int8_t> q = random_i8(k, rng);
    std::vector<int32_t> got(n_rows);
    x86::i2s_gemv_codes_avx512vnni(rows.data(), n_rows, q.data(), k, got.data());
    for (size_t r = 0; r < n_rows; ++r)
      EXPECT_EQ(got[r], x86::i2s_dot_codes_avx2(rows.data() + r * k / 4, q.data(), k)) << n_rows << " " << r;
  }
  for (int trial = 0; trial < 64; ++trial) {
    std::vector<uint8_t> qs(64);
    for (auto& b : qs) b = uint8_t(rng());
    const std::vector<int8_t> q = random_i8(256, rng);
    EXPECT_EQ(x86::tq2_block_dot_codes_avx512vnni(qs.data(), q.data()),
              x86::tq2_block_dot_codes_avx2(qs.data(), q.data()));
  }
  // TQ1_0's base-3 decode: random bytes cover all 256 values of every code byte (the five-trit bytes' top
  // values 243-255 included), and rows of 1 to 9 blocks the four-block reductions and their tails.
  for (int trial = 0; trial < 64; ++trial) {
    std::vector<uint8_t> blk(54);
    for (auto& b : blk) b = uint8_t(rng());
    const std::vector<int8_t> q = random_i8(256, rng);
    EXPECT_EQ(x86::tq1_block_dot_codes_avx512vnni(blk.data(), q.data()),
              x86::tq1_block_dot_codes_avx2(blk.data(), q.data()));
  }
  for (size_t n_blocks = 1; n_blocks <= 9; ++n_blocks) {
    std::vector<uint8_t> row(n_blocks * 54);
    for (auto& b : row) b = uint8_t(rng());
    const std::vector<int8_t> q = random_i8(n_blocks * 256, rng);
    std::vector<int32_t> got(n_blocks);
    x86::tq1_row_dots_avx512vnni(row.data(), q.data(), n_blocks, got.data());
    for (size_t b = 0; b < n_blocks; ++b)
      EXPECT_EQ(got[b], x86::tq1_block_dot_codes_avx2(row.data() + b * 54, q.data() + b * 256))
          << n_blocks << " " << b;
  }
}

// All +1 weights against -128 activations is the largest sum a row can make; AVX2 accumulates it in int16
// runs, VNNI straight in int32, and both must give the exact value.
TEST(Avx512Kernels, I2SDotIsExactAtTheLimits) {
  TERN_REQUIRE_CPU();
  const size_t K = 128 * 21;
  std::vector<float> ones(K, 1.0f);
  std::vector<uint8_t> row(dtype_tensor_bytes(DType::I2_S, K, 1));
  quantize_matrix(DType::I2_S, ones.data(), row.data(), K, 1, 1.0f);
  std::vector<int8_t> q(4 * K, -128);
  EXPECT_EQ(x86::i2s_dot_codes_avx512vnni(row.data(), q.data(), K),
            2 * -128 * int32_t(K));  // codes are weight + 1
  int32_t got[4];
  x86::i2s_gemm_codes_avx512vnni(row.data(), 1, q.data(), 4, K, got);
  for (int t = 0; t < 4; ++t) EXPECT_EQ(got[t], 2 * -128 * int32_t(K)) << t;
}

// 33 super-blocks: one full 32-super-block int16 run and a ragged one.
TEST(Avx512Kernels, TL2TileDotIsExactAtTheInt16Limits) {
  TERN_REQUIRE_CPU();
  std::mt19937 rng(23);
  EXPECT_EQ(x86_test::check_tl2_tile_dot(x86::tl2_tile_dot_avx512, 3 * 8 * 33 - 1, rng), "");
}

}  // namespace
