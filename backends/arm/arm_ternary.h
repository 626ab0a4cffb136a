#pragma once
// The ternary kernels of every Arm variant, written once over a multiply-accumulate policy: `Mac::run(acc,
// codes, x)` adds the products of 16 codes (weight + 1, in {0, 1, 2}) and 16 int8 activations into four int32
// lanes. The NEON baseline does it with widening multiplies and pairwise adds, dotprod with one sdot. Each
// variant's .cpp includes this with its own Mac and ISA flags; the results are exact integer dots in every
// case.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tern/dtype.h"

namespace tern::arm {

// I2_S: a 128-weight block is 32 bytes; byte i holds weights i, 32 + i, 64 + i, 96 + i (bits 7:6 down to
// 1:0).
// Four accumulators: with one, each multiply-accumulate would wait for the previous one's result.
template <class Mac>
inline int32x4_t i2s_row_acc(const uint8_t* row, const int8_t* q, size_t k) {
  const uint8x16_t mask = vdupq_n_u8(3);
  int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
  for (size_t b = 0; b < k / 128; ++b) {
    const uint8x16_t p0 = vld1q_u8(row + 32 * b), p1 = vld1q_u8(row + 32 * b + 16);
    const int8_t* qb = q + 128 * b;
    acc[0] = Mac::run(acc[0], vshrq_n_u8(p0, 6), vld1q_s8(qb));
    acc[1] = Mac::run(acc[1], vshrq_n_u8(p1, 6), vld1q_s8(qb + 16));
    acc[2] = Mac::run(acc[2], vandq_u8(vshrq_n_u8(p0, 4), mask), vld1q_s8(qb + 32));
    acc[3] = Mac::run(acc[3], vandq_u8(vshrq_n_u8(p1, 4), mask), vld1q_s8(qb + 48));
    acc[0] = Mac::run(acc[0], vandq_u8(vshrq_n_u8(p0, 2), mask), vld1q_s8(qb + 64));
    acc[1] = Mac::run(acc[1], vandq_u8(vshrq_n_u8(p1, 2), mask), vld1q_s8(qb + 80));
    acc[2] = Mac::run(acc[2], vandq_u8(p0, mask), vld1q_s8(qb + 96));
    acc[3] = Mac::run(acc[3], vandq_u8(p1, mask), vld1q_s8(qb + 112));
  }
  return vaddq_s32(vaddq_s32(acc[0], acc[1]), vaddq_s32(acc[2], acc[3]));
}

// TQ2_0: 64 bytes of codes then the f16 scale; in each 32-byte half j, bits 2l..2l+1 of byte m hold weight
// 128 j + 32 l + m.
template <class Mac>
inline int32_t tq2_block_dot(const uint8_t* qs, const int8_t* q) {
  const uint8x16_t mask = vdupq_n_u8(3);
  int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
  for (int j = 0; j < 2; ++j) {
    uint8x16_t p0 = vld1q_u8(qs + 32 * j), p1 = vld1q_u8(qs + 32 * j + 16);
    for (int l = 0; l < 4; ++l) {
      acc[l % 2 * 2] = Mac::run(acc[l % 2 * 2], vandq_u8(p0, mask), vld1q_s8(q + 128 * j + 32 * l));
      acc[l % 2 * 2 + 1] =
          Mac::run(acc[l % 2 * 2 + 1], vandq_u8(p1, mask), vld1q_s8(q + 128 * j + 32 * l + 16));
      p0 = vshrq_n_u8(p0, 2);
      p1 = vshrq_n_u8(p1, 2);
    }
  }
  return vaddvq_s32(vaddq_s32(vaddq_s32(acc[0], acc[1]), vaddq_s32(acc[2], acc[3])));
}

// TQ1_0 stores five trits per byte as a base-3 fraction: trit n of byte p is the top base-3 digit of p * 3^n
// (mod 256), ((p * 3^n mod 256) * 3) >> 8. 48 bytes of five trits (the first 32 give weights n * 32 + m, the
// next 16 weights 160 + n * 16 + m), then 4 bytes of four trits (weights 240 + n * 4 + j), then the f16
// scale.
inline uint8x16_t top_trit(uint8x16_t p) {
  const uint8x8_t three = vdup_n_u8(3);
  return vcombine_u8(vshrn_n_u16(vmull_u8(vget_low_u8(p), three), 8),
                     vshrn_n_u16(vmull_high_u8(p, vdupq_n_u8(3)), 8));
}
// A TQ1_0 block's 256 codes in weight order.
inline void tq1_block_codes(const uint8_t* blk, uint8_t* codes) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8x16_t a0 = vld1q_u8(blk), a1 = vld1q_u8(blk + 16), b = vld1q_u8(blk + 32);
  for (int n = 0; n < 5; ++n) {
    const uint8x16_t m = vdupq_n_u8(kPow3[n]);
    vst1q_u8(codes + 32 * n, top_trit(vmulq_u8(a0, m)));
    vst1q_u8(codes + 32 * n + 16, top_trit(vmulq_u8(a1, m)));
    vst1q_u8(codes + 160 + 16 * n, top_trit(vmulq_u8(b, m)));
  }
  uint32_t h;
  std::memcpy(&h, blk + 48, 4);
  const uint8x16_t hv = vreinterpretq_u8_u32(vdupq_n_u32(h));
  // Lanes 4n..4n+3 take qh * 3^n: weights 240 + 4n + j.
  static constexpr uint8_t kPow3Lanes[16] = {1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27};
  vst1q_u8(codes + 240, top_trit(vmulq_u8(hv, vld1q_u8(kPow3Lanes))));
}

template <class Mac>
inline int32_t codes_dot(const uint8_t* codes, const int8_t* q, size_t n) {
  int32x4_t acc[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
  for (size_t i = 0; i < n; i += 32) {  // n is a multiple of 32 (256-weight blocks)
    acc[0] = Mac::run(acc[0], vld1q_u8(codes + i), vld1q_s8(q + i));
    acc[1] = Mac::run(acc[1], vld1q_u8(codes + i + 16), vld1q_s8(q + i + 16));
  }
  return vaddvq_s32(vaddq_s32(acc[0], acc[1]));
}

template <class Mac>
inline int32_t tq1_block_dot(const uint8_t* blk, const int8_t* q) {
  alignas(16) uint8_t codes[256];
  tq1_block_codes(blk, codes);
  return codes_dot<Mac>(codes, q, 256);
}

// One row's codes in weight order (k of them), for the prefill tiles.
inline void i2s_row_codes(const uint8_t* row, size_t k, uint8_t* codes) {
  const uint8x16_t mask = vdupq_n_u8(3);
  for (size_t b = 0; b < k / 128; ++b, codes += 128) {
    const uint8x16_t p0 = vld1q_u8(row + 32 * b), p1 = vld1q_u8(row + 32 * b + 16);
    for (int j = 0; j < 4; ++j) {
      const int s = 6 - 2 * j;
      const int8x16_t sh = vdupq_n_s8(int8_t(-s));
      vst1q_u8(codes + 32 * j, vandq_u8(vshlq_u8(p0, sh), mask));
      vst1q_u8(codes + 32 * j + 16, vandq_u8(vshlq_u8(p1, sh), mask));
    }
  }
}
inline void tq2_row_codes(const uint8_t* row, size_t k, uint8_t* codes) {
  const uint8x16_t mask = vdupq_n_u8(3);
  for (size_t b = 0; b < k / 256; ++b, row += 66, codes += 256)
    for (int j = 0; j < 2; ++j) {
      uint8x16_t p0 = vld1q_u8(row + 32 * j), p1 = vld1q_u8(row + 32 * j + 16);
      for (int l = 0; l < 4; ++l) {
        vst1q_u8(codes + 128 * j + 32 * l, vandq_u8(p0, mask));
        vst1q_u8(codes + 128 * j + 32 * l + 16, vandq_u8(p1, mask));
        p0 = vshrq_n_u8(p0, 2);
        p1 = vshrq_n_u8(p1, 2);
      }
    }
}
inline void tq1_row_codes(const uint8_t* row, size_t k, uint8_t* codes) {
  for (size_t b = 0; b < k / 256; ++b) tq1_block_codes(row + 54 * b, codes + 256 * b);
}

// Decode: dots[g * n_rows + r] (cpu::TernaryGemvFn).
template <class Mac>
void i2s_gemv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  for (size_t r = 0; r < n_rows; ++r) dots[r] = vaddvq_s32(i2s_row_acc<Mac>(rows + r * (k / 4), q, k));
}
template <class Mac, size_t kBlockBytes, int32_t (*kBlockDot)(const uint8_t*, const int8_t*)>
void tq_gemv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  const size_t nb = k / 256;
  for (size_t r = 0; r < n_rows; ++r)
    for (size_t b = 0; b < nb; ++b)
      dots[b * n_rows + r] = kBlockDot(rows + (r * nb + b) * kBlockBytes, q + 256 * b);
}

// Prefill (cpu::TernaryGemmFn): each row's codes are decoded once into a buffer, then `Tile` takes up to two
// rows and two tokens at a time over each scale group. Tile::run(codes0, codes1, q0, q1, n, out[2][2]).
template <class Tile, DType kType, void (*kRowCodes)(const uint8_t*, size_t, uint8_t*)>
void ternary_gemm(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots) {
  const size_t row_bytes = dtype_row_offset(kType, k, 1), group = kType == DType::I2_S ? k : 256,
               ng = k / group;
  thread_local std::vector<uint8_t> buffer;
  buffer.resize(2 * k);
  uint8_t* codes[2] = {buffer.data(), buffer.data() + k};
  for (size_t r = 0; r < n_rows; r += 2) {
    const size_t nr = std::min<size_t>(2, n_rows - r);
    kRowCodes(rows + r * row_bytes, k, codes[0]);
    if (nr == 2)
      kRowCodes(rows + (r + 1) * row_bytes, k, codes[1]);
    else
      std::memset(codes[1], 1, k);  // a row of zero weights: its dots are computed and dropped
    for (size_t t = 0; t < n_tokens; t += 2) {
      const size_t nt = std::min<size_t>(2, n_tokens - t);
      const int8_t* q0 = q + t * k;
      const int8_t* q1 = nt == 2 ? q0 + k : q0;
      for (size_t g = 0; g < ng; ++g) {
        int32_t out[2][2];
        Tile::run(codes[0] + g * group, codes[1] + g * group, q0 + g * group, q1 + g * group, group, out);
        for (size_t tt = 0; tt < nt; ++tt)
          for (size_t rr = 0; rr < nr; ++rr) dots[((t + tt) * ng + g) * n_rows + r + rr] = out[tt][rr];
      }
    }
  }
}

// The 2 x 2 tile through Mac: four accumulators, each row's codes and each token's activations loaded once.
template <class Mac>
struct MacTile {
  static void run(const uint8_t* c0, const uint8_t* c1, const int8_t* q0, const int8_t* q1, size_t n,
                  int32_t (&out)[2][2]) {
    int32x4_t a00 = vdupq_n_s32(0), a01 = a00, a10 = a00, a11 = a00;
    for (size_t i = 0; i < n; i += 16) {
      const uint8x16_t x0 = vld1q_u8(c0 + i), x1 = vld1q_u8(c1 + i);
      const int8x16_t y0 = vld1q_s8(q0 + i), y1 = vld1q_s8(q1 + i);
      a00 = Mac::run(a00, x0, y0);
      a01 = Mac::run(a01, x1, y0);
      a10 = Mac::run(a10, x0, y1);
      a11 = Mac::run(a11, x1, y1);
    }
    out[0][0] = vaddvq_s32(a00);
    out[0][1] = vaddvq_s32(a01);
    out[1][0] = vaddvq_s32(a10);
    out[1][1] = vaddvq_s32(a11);
  }
};

}  // namespace tern::arm
