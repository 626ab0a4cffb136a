// Compiled with -march=armv8-a (Advanced SIMD is part of the baseline).
#include <cmath>

#include "arm_float_blocks.h"
#include "arm_kernels.h"
#include "arm_ternary.h"
#include "reference_kernels.h"

namespace tern::arm {
namespace {

// Widening multiplies (8 x 8 -> 16 bits: |code * q| <= 256) and pairwise accumulation into int32.
struct NeonMac {
  static int32x4_t run(int32x4_t acc, uint8x16_t codes, int8x16_t x) {
    const int8x16_t c = vreinterpretq_s8_u8(codes);
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(c), vget_low_s8(x)));
    return vpadalq_s16(acc, vmull_high_s8(c, x));
  }
};

inline float32x4_t f16x4(const uint8_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
}
inline float32x4_t bf16x4(const uint8_t* p) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
}

// The integer dot of 32 weights (two int8x16 halves, weights 0-15 and 16-31) with their int16 activations.
inline int32x4_t block_dot_i16(int8x16_t w_lo, int8x16_t w_hi, const int16_t* xq) {
  const int16x8_t w[4] = {vmovl_s8(vget_low_s8(w_lo)), vmovl_high_s8(w_lo), vmovl_s8(vget_low_s8(w_hi)),
                          vmovl_high_s8(w_hi)};
  int32x4_t acc = vdupq_n_s32(0);
  for (int i = 0; i < 4; ++i) {
    const int16x8_t x = vld1q_s16(xq + 8 * i);
    acc = vmlal_s16(acc, vget_low_s16(w[i]), vget_low_s16(x));
    acc = vmlal_high_s16(acc, w[i], x);
  }
  return acc;
}

}  // namespace

void quantize_blocks_i16_neon(const float* x, size_t k, int16_t* xq, float* block_scales) {
  quantize_blocks_i16_as(x, k, 32767.0f, block_scales,
                         [xq](size_t b, int g, int16x8_t q) { vst1q_s16(xq + 32 * b + 8 * g, q); });
}

namespace {
// Block b's dot with its activations, which this table stores as plain int16s.
struct PlainI16BlockDot {
  const int16_t* xq;
  int32x4_t operator()(int8x16_t w_lo, int8x16_t w_hi, size_t b) const {
    return block_dot_i16(w_lo, w_hi, xq + 32 * b);
  }
};
}  // namespace

float dot_q8_0_i16_neon(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return dot_q8_0_blocks(row, bs, k, PlainI16BlockDot{xq});
}
float dot_q4_0_i16_neon(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return dot_q4_blocks<false>(row, bs, k, PlainI16BlockDot{xq});
}
float dot_q4_1_i16_neon(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return dot_q4_blocks<true>(row, bs, k, PlainI16BlockDot{xq});
}

float quantize_activations_neon(const float* x, int8_t* q, size_t k) {
  float32x4_t amax4 = vdupq_n_f32(0);
  size_t i = 0;
  for (; i + 4 <= k; i += 4) amax4 = vmaxq_f32(amax4, vabsq_f32(vld1q_f32(x + i)));
  float amax = vmaxvq_f32(amax4);
  for (; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float scale = 127.0f / std::max(amax, 1e-5f);
  const float32x4_t vs = vdupq_n_f32(scale), lo = vdupq_n_f32(-128.0f), hi = vdupq_n_f32(127.0f);
  for (i = 0; i + 8 <= k; i += 8) {
    int32x4_t r[2];
    for (int j = 0; j < 2; ++j) {
      const float32x4_t v = vrndaq_f32(vmulq_f32(vld1q_f32(x + i + 4 * j), vs));
      r[j] = vcvtq_s32_f32(vminq_f32(vmaxq_f32(v, lo), hi));
    }
    vst1_s8(q + i, vmovn_s16(vcombine_s16(vmovn_s32(r[0]), vmovn_s32(r[1]))));
  }
  for (; i < k; ++i) q[i] = int8_t(std::clamp(std::round(x[i] * scale), -128.0f, 127.0f));
  return scale;
}

int32_t sum_i8_neon(const int8_t* q, size_t n) {
  int32x4_t acc = vdupq_n_s32(0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) acc = vpadalq_s16(acc, vpaddlq_s8(vld1q_s8(q + i)));
  int32_t s = vaddvq_s32(acc);
  for (; i < n; ++i) s += q[i];
  return s;
}

void i2s_gemv_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  i2s_gemv<NeonMac>(rows, n_rows, q, k, dots);
}
void i2s_gemm_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots) {
  ternary_gemm<MacTile<NeonMac>, DType::I2_S, i2s_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}
void tq2_gemv_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  tq_gemv<NeonMac, 66, tq2_block_dot<NeonMac>>(rows, n_rows, q, k, dots);
}
void tq2_gemm_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots) {
  ternary_gemm<MacTile<NeonMac>, DType::TQ2_0, tq2_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}
void tq1_gemv_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  tq_gemv<NeonMac, 54, tq1_block_dot<NeonMac>>(rows, n_rows, q, k, dots);
}
void tq1_gemm_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots) {
  ternary_gemm<MacTile<NeonMac>, DType::TQ1_0, tq1_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}

float dot_f32_neon(const float* a, const float* b, size_t n) {
  float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 4; ++j)
      acc[j] = vfmaq_f32(acc[j], vld1q_f32(a + i + 4 * j), vld1q_f32(b + i + 4 * j));
  for (; i + 4 <= n; i += 4) acc[0] = vfmaq_f32(acc[0], vld1q_f32(a + i), vld1q_f32(b + i));
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

float dot_f16_neon(const uint8_t* row, const float* x, size_t k) {
  float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
  size_t i = 0;
  for (; i + 8 <= k; i += 8) {
    acc[0] = vfmaq_f32(acc[0], f16x4(row + 2 * i), vld1q_f32(x + i));
    acc[1] = vfmaq_f32(acc[1], f16x4(row + 2 * i + 8), vld1q_f32(x + i + 4));
  }
  float s = vaddvq_f32(vaddq_f32(acc[0], acc[1]));
  for (; i < k; ++i) s += load_f16(row + 2 * i) * x[i];
  return s;
}

float dot_bf16_neon(const uint8_t* row, const float* x, size_t k) {
  float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
  size_t i = 0;
  for (; i + 8 <= k; i += 8) {
    acc[0] = vfmaq_f32(acc[0], bf16x4(row + 2 * i), vld1q_f32(x + i));
    acc[1] = vfmaq_f32(acc[1], bf16x4(row + 2 * i + 8), vld1q_f32(x + i + 4));
  }
  float s = vaddvq_f32(vaddq_f32(acc[0], acc[1]));
  for (; i < k; ++i) s += bf16_to_fp32(load_u16(row + 2 * i)) * x[i];
  return s;
}

void dequantize_f16_row_neon(const uint8_t* row, float* out, size_t k) {
  size_t i = 0;
  for (; i + 4 <= k; i += 4) vst1q_f32(out + i, f16x4(row + 2 * i));
  for (; i < k; ++i) out[i] = load_f16(row + 2 * i);
}
void dequantize_bf16_row_neon(const uint8_t* row, float* out, size_t k) {
  size_t i = 0;
  for (; i + 4 <= k; i += 4) vst1q_f32(out + i, bf16x4(row + 2 * i));
  for (; i < k; ++i) out[i] = bf16_to_fp32(load_u16(row + 2 * i));
}

void gated_activation_neon(const float* gate, const float* up, float* out, size_t n, Activation act) {
  if (act != Activation::Relu2) return ref::gated_activation(gate, up, out, n, act);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t g = vld1q_f32(gate + i);
    const float32x4_t a = vbslq_f32(vcgtq_f32(g, vdupq_n_f32(0)), vmulq_f32(g, g), vdupq_n_f32(0));
    vst1q_f32(out + i, vmulq_f32(a, vld1q_f32(up + i)));
  }
  ref::gated_activation(gate + i, up + i, out + i, n - i, act);
}

constinit const cpu::CpuKernels kNeonKernels = make_neon_kernels();

}  // namespace tern::arm
