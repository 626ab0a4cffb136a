// Block decoding shared by the Arm float-type kernels (arm_kernels_neon.cpp, arm_kernels_dotprod.cpp): plain
// Advanced SIMD, so every variant's translation unit may include it.
#pragma once

#include <arm_neon.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tern/dtype.h"

namespace tern::arm {

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline float load_f16(const uint8_t* p) {
  return fp16_to_fp32(load_u16(p));
}

// A Q4_0 / Q4_1 block's 32 nibbles as int8 weights 0..31 (low nibbles are weights 0-15, high 16-31), minus
// `offset` (8 for Q4_0, 0 for Q4_1).
inline void q4_nibbles(const uint8_t* qs, int8_t offset, int8x16_t& lo, int8x16_t& hi) {
  const uint8x16_t p = vld1q_u8(qs);
  lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(p, vdupq_n_u8(15))), vdupq_n_s8(offset));
  hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(p, 4)), vdupq_n_s8(offset));
}

// Quantizes each 32-float block of x to int16 at max_q / (the block's largest magnitude), rounding to nearest
// (even) as x86's cvtps does, and hands each block's four 8-value groups to store(block, group, q): the
// layout of the int16s is the caller's. block_scales: the scale and the scale times the block's sum, two per
// block.
template <class StoreGroup>
void quantize_blocks_i16_as(const float* x, size_t k, float max_q, float* block_scales, StoreGroup store) {
  for (size_t b = 0; b < k / 32; ++b) {
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0);
    uint32x4_t nan = vdupq_n_u32(0);
    for (int c = 0; c < 8; ++c) {
      v[c] = vld1q_f32(x + 32 * b + 4 * c);
      amax = vmaxnmq_f32(amax, vabsq_f32(v[c]));
      nan = vorrq_u32(nan, vmvnq_u32(vceqq_f32(v[c], v[c])));
    }
    const float a = vmaxvq_f32(amax), inv = a > 0.0f ? max_q / a : 0.0f;
    int32x4_t sum = vdupq_n_s32(0);
    for (int g = 0; g < 4; ++g) {
      // |x * inv| <= max_q <= 32767, so the narrowing cannot saturate.
      const int16x8_t q = vcombine_s16(vmovn_s32(vcvtnq_s32_f32(vmulq_n_f32(v[2 * g], inv))),
                                       vmovn_s32(vcvtnq_s32_f32(vmulq_n_f32(v[2 * g + 1], inv))));
      sum = vpadalq_s16(sum, q);
      store(b, g, q);
    }
    // A NaN (max ignores it, the conversion turns it into a number) must still reach the outputs.
    const float scale = vmaxvq_u32(nan) ? NAN : a / max_q;
    block_scales[2 * b] = scale;
    block_scales[2 * b + 1] = scale * float(vaddvq_s32(sum));
  }
}

// A Q8_0 row's dot with int16 activation blocks; block_dot(w_lo, w_hi, b): block b's integer dot with its 32
// weights (two int8x16 halves, weights 0-15 and 16-31).
template <class BlockDot>
float dot_q8_0_blocks(const uint8_t* row, const float* block_scales, size_t k, BlockDot block_dot) {
  float32x4_t acc = vdupq_n_f32(0);
  for (size_t b = 0; b < k / 32; ++b, row += 34) {
    const int8_t* qs = reinterpret_cast<const int8_t*>(row + 2);
    const float ds = load_f16(row) * block_scales[2 * b];
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(block_dot(vld1q_s8(qs), vld1q_s8(qs + 16), b)), ds);
  }
  return vaddvq_f32(acc);
}

// The same for Q4_0 (kHasMin false) and Q4_1, whose min multiplies the block's activation sum.
template <bool kHasMin, class BlockDot>
float dot_q4_blocks(const uint8_t* row, const float* block_scales, size_t k, BlockDot block_dot) {
  constexpr size_t bb = kHasMin ? 20 : 18;
  float32x4_t acc = vdupq_n_f32(0);
  float side = 0;
  for (size_t b = 0; b < k / 32; ++b, row += bb) {
    int8x16_t lo, hi;
    q4_nibbles(row + (kHasMin ? 4 : 2), kHasMin ? 0 : 8, lo, hi);
    const float ds = load_f16(row) * block_scales[2 * b];
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(block_dot(lo, hi, b)), ds);
    if (kHasMin) side += load_f16(row + 2) * block_scales[2 * b + 1];
  }
  return vaddvq_f32(acc) + side;
}

}  // namespace tern::arm
