#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tern/dtype.h"
#include "tern/registry.h"
#include "test_util.h"

using namespace tern;

// Every half against its value computed in double from the fields: sign, exponent, mantissa.
TEST(DType, Fp16ToFp32IsExactForEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const int e = int(h >> 10 & 31), m = int(h & 1023);
    const double mag = e == 0    ? std::ldexp(m, -24)
                       : e == 31 ? (m ? NAN : INFINITY)
                                 : std::ldexp(1024 + m, e - 25);
    const float f = fp16_to_fp32(uint16_t(h));
    if (e == 31 && m) {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      ASSERT_EQ(bits, (h & 0x8000u) << 16 | 0x7f800000u | uint32_t(m) << 13)
          << std::hex << h;  // payload kept
      continue;
    }
    ASSERT_EQ(f, float(h & 0x8000 ? -mag : mag)) << std::hex << h;
    ASSERT_EQ(std::signbit(f), bool(h & 0x8000)) << std::hex << h;
  }
}

TEST(DType, Fp16RoundTripsEveryHalfValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), h) << "half 0x" << std::hex << h;
  }
}

TEST(DType, Fp16RoundsToNearestEven) {
  EXPECT_EQ(fp32_to_fp16(1.0f + 1.0f / 2048), fp32_to_fp16(1.0f));                // tie -> even
  EXPECT_EQ(fp32_to_fp16(1.0f + 3.0f / 2048), fp32_to_fp16(1.0f + 4.0f / 2048));  // tie -> even (up)
  EXPECT_EQ(fp16_to_fp32(fp32_to_fp16(65520.0f)), INFINITY);
  EXPECT_EQ(fp16_to_fp32(fp32_to_fp16(5.96e-8f)), 5.9604645e-8f);  // smallest subnormal
}

TEST(DType, TensorSizes) {
  EXPECT_EQ(dtype_tensor_bytes(DType::Q4_1, 576, 10), 576 / 32 * 20 * 10u);
  EXPECT_EQ(dtype_tensor_bytes(DType::TQ1_0, 512, 2), 2 * 54 * 2u);
  EXPECT_EQ(dtype_tensor_bytes(DType::I2_S, 256, 256), 256 * 256 / 4 + 32u);
  EXPECT_EQ(dtype_tensor_bytes(DType::TL2, 2560, 640),
            20 * (107 * 160) + 32u);  // 854 groups -> 107 super-blocks
  EXPECT_EQ(dtype_tensor_bytes(DType::TL1, 2562, 33), 3 * (16 * 641) + 32u);  // 641 pair bytes, 3 tiles
  EXPECT_FALSE(dtype_row_ok(DType::TQ2_0, 300));
  EXPECT_EQ(dtype_from_name("tq2_0"), DType::TQ2_0);
  EXPECT_EQ(dtype_from_id(7), std::nullopt);  // Q5_1: not supported, must not be mistaken for another type
}

TEST(DType, I2SRoundTripIsExactForTernary) {
  std::mt19937 rng(7);
  const size_t n = 4 * kI2SBlock;
  std::vector<float> x(n), y(n);
  for (auto& v : x) v = 0.37f * float(int(rng() % 3) - 1);
  std::vector<uint8_t> buf(dtype_tensor_bytes(DType::I2_S, n, 1));
  quantize_row(DType::I2_S, x.data(), buf.data(), n, 0.37f);
  set_tensor_scale(DType::I2_S, buf.data(), n, 1, 0.37f);
  EXPECT_EQ(tensor_scale(DType::I2_S, buf.data(), n, 1), 0.37f);
  dequantize_row(DType::I2_S, buf.data(), y.data(), n, tensor_scale(DType::I2_S, buf.data(), n, 1));
  EXPECT_EQ(x, y);
  // bitnet.cpp layout: weight j of a 128-block lives in byte j % 32 at bit 6 - 2 * (j / 32).
  EXPECT_EQ((buf[5] >> 6) & 3, int(x[5] / 0.37f) + 1);
  EXPECT_EQ((buf[5] >> 0) & 3, int(x[96 + 5] / 0.37f) + 1);
}

TEST(DType, TiledTernaryRoundTripIsExactOnRaggedShapes) {
  std::mt19937 rng(8);
  for (DType t : {DType::TL1, DType::TL2})
    for (auto [k, n] : {std::pair<size_t, size_t>{1, 1}, {5, 33}, {47, 64}, {100, 7}, {385, 40}, {2, 17}}) {
      std::vector<float> x(k * n), y(k * n);
      for (auto& v : x) v = 0.5f * float(int(rng() % 3) - 1);
      std::vector<uint8_t> buf(dtype_tensor_bytes(t, k, n));
      quantize_matrix(t, x.data(), buf.data(), k, n, 0.5f);
      EXPECT_EQ(tensor_scale(t, buf.data(), k, n), 0.5f);
      dequantize_matrix(t, buf.data(), y.data(), k, n);
      EXPECT_EQ(x, y) << dtype_name(t) << " " << k << "x" << n;
      std::vector<float> row(k);
      dequantize_rows(t, buf.data(), k, n, n - 1, 1, row.data());
      EXPECT_TRUE(std::equal(row.begin(), row.end(), x.end() - long(k))) << dtype_name(t);
    }
}

// Q4_ZP holds MatMulNBits' blocks: f32 d, the zero point, then Q4_0's nibble order; value = d * (q - z)
// computed exactly as written (q - z is an integer), and the quantizer stays within half a step.
TEST(DType, Q4ZPLayoutIsTheDocumentedOne) {
  uint8_t blk[kQ4ZPBlockBytes];
  const float d = 0.1234567f;
  std::memcpy(blk, &d, 4);
  blk[4] = 11;
  for (int j = 0; j < 16; ++j) blk[5 + j] = uint8_t(j | ((15 - j) << 4));
  float out[32];
  dequantize_row(DType::Q4_ZP, blk, out, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], d * float(j - 11)) << j;
    EXPECT_EQ(out[j + 16], d * float(15 - j - 11)) << j;
  }
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.3f, 1.0f);  // asymmetric: the zero point is not 8
  std::vector<float> x(96), back(96);
  for (auto& v : x) v = u(rng);
  std::vector<uint8_t> q(dtype_row_bytes(DType::Q4_ZP, 96));
  quantize_row(DType::Q4_ZP, x.data(), q.data(), 96);
  dequantize_row(DType::Q4_ZP, q.data(), back.data(), 96);
  for (size_t b = 0; b < 3; ++b) {
    float step;
    std::memcpy(&step, q.data() + b * kQ4ZPBlockBytes, 4);
    EXPECT_NE(q[b * kQ4ZPBlockBytes + 4], 8) << b;
    for (size_t i = 32 * b; i < 32 * b + 32; ++i)
      EXPECT_LE(std::fabs(back[i] - x[i]), 0.5f * step * 1.0001f) << i;
  }
}

TEST(DType, TL1LayoutIsTheDocumentedOne) {
  // docs/tl1.md, worked by hand: K = 6 (three pairs, padded to two pair bytes), N = 17 (two tiles, the second
  // padded with zero rows).
  const size_t k = 6, n = 17;
  std::vector<float> x(k * n, 0.0f);
  x[3 * k + 0] = 1, x[3 * k + 1] = -1;  // row 3, pair 0 = (1, -1): index 3 * 2 + 0 = 6
  x[3 * k + 5] = 1;                     // row 3, pair 2 = (0, 1): index 3 * 1 + 2 = 5
  x[16 * k + 2] = -1;                   // row 16 (tile 1, row 0), pair 1 = (-1, 0): index 0 * 3 + 1 = 1
  std::vector<uint8_t> buf(dtype_tensor_bytes(DType::TL1, k, n));
  ASSERT_EQ(buf.size(), 2 * 32 + 32u);  // 2 pair bytes x 16 rows per tile; scale trailer
  quantize_matrix(DType::TL1, x.data(), buf.data(), k, n, 1.0f);
  // Zero pairs are index 4; the padding pair 3 too. Byte 16 q + r holds pairs 2q (low) and 2q + 1 (high).
  for (size_t i = 0; i < 64; ++i) {
    uint8_t want = 0x44;
    if (i == 3) want = 0x46;       // row 3, pairs 0 and 1
    if (i == 16 + 3) want = 0x45;  // row 3, pairs 2 and 3 (padding)
    if (i == 32) want = 0x14;      // tile 1, row 0, pairs 0 and 1
    EXPECT_EQ(buf[i], want) << i;
  }
  float scale;
  std::memcpy(&scale, buf.data() + 64, 4);
  EXPECT_EQ(scale, 1.0f);
}

TEST(DType, TL2LayoutIsTheDocumentedOne) {
  // docs/tl2.md, worked by hand: K = 6 (two groups), N = 33 (two tiles, the second padded with zero rows).
  const size_t k = 6, n = 33;
  std::vector<float> x(k * n, 0.0f);
  x[17 * k + 3] = 1,
             x[17 * k + 4] = -1;  // row 17, group 1 = (1, -1, 0): code 19 > 13, stored as 26-19 = 7, sign 1
  x[32 * k + 2] = -1;             // row 32 (tile 1, row 0), group 0 = (0, 0, -1): code 12, sign 0
  std::vector<uint8_t> buf(dtype_tensor_bytes(DType::TL2, k, n));
  ASSERT_EQ(buf.size(),
            2 * 160 + 32u);  // groups pad to one super-block of 8; 160 bytes per tile; scale trailer
  quantize_matrix(DType::TL2, x.data(), buf.data(), k, n, 1.0f);
  // Zero groups are index 13 (0xD) with sign 0. Group 1 is lane 1 of pair 0: bytes 16-31; row 17 is the high
  // nibble of byte 16 + 1. Its sign is bit 0 + 4 of sign byte 128 + 16 + 1.
  for (size_t i = 0; i < 128; ++i) EXPECT_EQ(buf[i], i == 17 ? 0x7d : 0xdd) << i;
  for (size_t i = 128; i < 160; ++i) EXPECT_EQ(buf[i], i == 145 ? 0x10 : 0x00) << i;
  EXPECT_EQ(buf[160], 0xdc);  // tile 1, row 0, group 0: low nibble 12; row 16 (padding): high nibble 13
  float scale;
  std::memcpy(&scale, buf.data() + 320, 4);
  EXPECT_EQ(scale, 1.0f);
}

// Bytes and floats produced by the PyPI gguf package (see tests/python/make_quant_fixture.py).
class GgufPackageFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { file_ = load_model_file(test::tmp_dir() + "/quant_fixture.gguf").release(); }
  static void TearDownTestSuite() { delete file_; }
  static ModelFile* file_;
};
ModelFile* GgufPackageFixture::file_ = nullptr;

TEST_F(GgufPackageFixture, DequantizeMatchesGgufPackageExactly) {
  for (const char* name : {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "TQ1_0", "TQ2_0"}) {
    const auto* q = file_->find(std::string("q.") + name);
    const auto* dq = file_->find(std::string("dq.") + name);
    ASSERT_TRUE(q && dq) << name;
    ASSERT_EQ(q->type, *dtype_from_name(name));
    std::vector<float> out(q->n_elements());
    const size_t K = q->ne[0], row_bytes = dtype_row_bytes(q->type, K);
    for (size_t r = 0; r < q->n_rows(); ++r)
      dequantize_row(q->type, q->data + r * row_bytes, out.data() + r * K, K);
    const auto* want = reinterpret_cast<const float*>(dq->data);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], want[i]) << name << " element " << i;
  }
}

TEST_F(GgufPackageFixture, QuantizeMatchesGgufPackageBytes) {
  const auto* src = file_->find("source");
  ASSERT_TRUE(src);
  const auto* x = reinterpret_cast<const float*>(src->data);
  for (const char* name : {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "TQ1_0", "TQ2_0"}) {
    const auto* q = file_->find(std::string("q.") + name);
    std::vector<uint8_t> ours(q->nbytes);
    const size_t K = src->ne[0], row_bytes = dtype_row_bytes(q->type, K);
    for (size_t r = 0; r < src->n_rows(); ++r)
      quantize_row(q->type, x + r * K, ours.data() + r * row_bytes, K);
    size_t diff = 0;
    for (size_t i = 0; i < ours.size(); ++i) diff += ours[i] != q->data[i];
    EXPECT_EQ(diff, 0u) << name << ": bytes differing from the gguf package";
  }
}
