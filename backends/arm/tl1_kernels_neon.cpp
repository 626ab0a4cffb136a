// TL1 lookup kernels (docs/tl1.md), compiled with -march=armv8-a: `tbl` is baseline Advanced SIMD.
//
// For each weight pair of a token's activations (a0, a1) the table holds the nine sums a0 w0 + a1 w1 over
// (w0, w1) in {-1, 0, 1}^2, at index 3 (w0 + 1) + (w1 + 1). A sum needs nine bits, so each table is stored as
// its low bytes (unsigned) and high bytes (signed: -1 or 0): one `tbl` on each turns a tile's 16 indices into
// 16 rows' exact partial sums. Low bytes accumulate in uint16 for up to 128 pairs, high bytes in int16, and
// both are widened into int32 (sum = 256 high + low): exact integer dots, no activation rescaling.
#include <arm_neon.h>

#include "arm_kernels.h"
#include "tern/dtype.h"

namespace tern::arm {
namespace {

// Bytes of one pair's tables: 16 low bytes, 16 high bytes.
constexpr size_t kPairLutBytes = 32;
// Pairs whose low bytes (<= 255 each) fit a uint16 accumulator, with room: flushed after this many.
constexpr size_t kPairsPerFlush = 128;

inline void flush(uint16x8_t& lo0, uint16x8_t& lo1, int16x8_t& hi0, int16x8_t& hi1, int32x4_t (&total)[4]) {
  const uint16x8_t lo[2] = {lo0, lo1};
  const int16x8_t hi[2] = {hi0, hi1};
  for (int h = 0; h < 2; ++h) {
    total[2 * h] = vaddq_s32(total[2 * h], vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo[h]))));
    total[2 * h + 1] = vaddq_s32(total[2 * h + 1], vreinterpretq_s32_u32(vmovl_high_u16(lo[h])));
    total[2 * h] = vaddq_s32(total[2 * h], vshlq_n_s32(vmovl_s16(vget_low_s16(hi[h])), 8));
    total[2 * h + 1] = vaddq_s32(total[2 * h + 1], vshlq_n_s32(vmovl_high_s16(hi[h]), 8));
  }
  lo0 = lo1 = vdupq_n_u16(0);
  hi0 = hi1 = vdupq_n_s16(0);
}

void tile_dot_token(const uint8_t* tile, const uint8_t* lut, size_t pair_bytes, int32_t* out) {
  const uint8x16_t nibble = vdupq_n_u8(15);
  uint16x8_t lo0 = vdupq_n_u16(0), lo1 = lo0;
  int16x8_t hi0 = vdupq_n_s16(0), hi1 = hi0;
  int32x4_t total[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
  for (size_t q = 0; q < pair_bytes; ++q) {
    const uint8x16_t v = vld1q_u8(tile + kTL1TileRows * q);
    const uint8_t* l = lut + 2 * kPairLutBytes * q;
    for (int half = 0; half < 2; ++half) {
      const uint8x16_t idx = half == 0 ? vandq_u8(v, nibble) : vshrq_n_u8(v, 4);
      const uint8x16_t lo = vqtbl1q_u8(vld1q_u8(l + kPairLutBytes * half), idx);
      const int8x16_t hi =
          vqtbl1q_s8(vld1q_s8(reinterpret_cast<const int8_t*>(l + kPairLutBytes * half + 16)), idx);
      lo0 = vaddw_u8(lo0, vget_low_u8(lo));
      lo1 = vaddw_high_u8(lo1, lo);
      hi0 = vaddw_s8(hi0, vget_low_s8(hi));
      hi1 = vaddw_high_s8(hi1, hi);
    }
    if ((q + 1) % (kPairsPerFlush / 2) == 0) flush(lo0, lo1, hi0, hi1, total);
  }
  flush(lo0, lo1, hi0, hi1, total);
  for (int i = 0; i < 4; ++i) vst1q_s32(out + 4 * i, total[i]);
}

}  // namespace

size_t tl1_lut_bytes(size_t k) {
  return tl1_pair_bytes(k) * 2 * kPairLutBytes;
}
size_t tl1_lut_units(size_t k) {
  return tl1_pair_bytes(k);
}

void tl1_build_lut_neon(const int8_t* q, size_t k, size_t unit0, size_t unit1, uint8_t* lut) {
  // w0 and w1 of each table index (zero past the nine used ones), as int16 for the two halves of 16 lanes.
  static constexpr int16_t kW0[16] = {-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
  static constexpr int16_t kW1[16] = {-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  const int16x8_t w0a = vld1q_s16(kW0), w0b = vld1q_s16(kW0 + 8), w1a = vld1q_s16(kW1),
                  w1b = vld1q_s16(kW1 + 8);
  for (size_t p = 2 * unit0; p < 2 * unit1; ++p) {
    const int16_t a0 = 2 * p < k ? q[2 * p] : 0, a1 = 2 * p + 1 < k ? q[2 * p + 1] : 0;
    const int16x8_t sa = vmlaq_n_s16(vmulq_n_s16(w0a, a0), w1a, a1);
    const int16x8_t sb = vmlaq_n_s16(vmulq_n_s16(w0b, a0), w1b, a1);
    uint8_t* l = lut + kPairLutBytes * p;
    vst1q_u8(l, vcombine_u8(vmovn_u16(vreinterpretq_u16_s16(sa)), vmovn_u16(vreinterpretq_u16_s16(sb))));
    vst1q_s8(reinterpret_cast<int8_t*>(l + 16), vcombine_s8(vshrn_n_s16(sa, 8), vshrn_n_s16(sb, 8)));
  }
}

void tl1_tile_dot_neon(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens, size_t k,
                       int32_t* out) {
  const size_t pair_bytes = tl1_pair_bytes(k);
  for (size_t t = 0; t < n_tokens; ++t)
    tile_dot_token(tile, lut + t * lut_stride, pair_bytes, out + kTL1TileRows * t);
}

}  // namespace tern::arm
