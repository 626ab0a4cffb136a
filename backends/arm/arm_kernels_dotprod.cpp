// Compiled with -march=armv8.2-a+dotprod.
#include "arm_float_blocks.h"
#include "arm_kernels.h"
#include "arm_ternary.h"

namespace tern::arm {
namespace {

struct DotMac {
  static int32x4_t run(int32x4_t acc, uint8x16_t codes, int8x16_t x) {
    return vdotq_s32(acc, vreinterpretq_s8_u8(codes), x);
  }
};

}  // namespace

void i2s_gemv_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  i2s_gemv<DotMac>(rows, n_rows, q, k, dots);
}
void i2s_gemm_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                      int32_t* dots) {
  ternary_gemm<MacTile<DotMac>, DType::I2_S, i2s_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}
void tq2_gemv_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  tq_gemv<DotMac, 66, tq2_block_dot<DotMac>>(rows, n_rows, q, k, dots);
}
void tq2_gemm_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                      int32_t* dots) {
  ternary_gemm<MacTile<DotMac>, DType::TQ2_0, tq2_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}
void tq1_gemv_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  tq_gemv<DotMac, 54, tq1_block_dot<DotMac>>(rows, n_rows, q, k, dots);
}
void tq1_gemm_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                      int32_t* dots) {
  ternary_gemm<MacTile<DotMac>, DType::TQ1_0, tq1_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}

namespace {

// The split activations' largest magnitude: 32639 + 128 still fits int16, so (x + 128) >> 8 fits int8.
constexpr float kSplitMax = 32639.0f;

// The integer dot of 32 int8 weights (halves: weights 0-15, 16-31) with a split block: 256 x the high bytes'
// dot plus the low bytes' dot, which is the dot with the int16 activations exactly.
inline int32x4_t block_dot_split(int8x16_t w_lo, int8x16_t w_hi, const int8_t* xs) {
  const int32x4_t zero = vdupq_n_s32(0);
  const int32x4_t hi = vdotq_s32(vdotq_s32(zero, w_lo, vld1q_s8(xs)), w_hi, vld1q_s8(xs + 16));
  const int32x4_t lo = vdotq_s32(vdotq_s32(zero, w_lo, vld1q_s8(xs + 32)), w_hi, vld1q_s8(xs + 48));
  return vaddq_s32(lo, vshlq_n_s32(hi, 8));
}

// Block b's dot with its activations stored split (quantize_blocks_split_dotprod).
struct SplitBlockDot {
  const int8_t* xs;
  int32x4_t operator()(int8x16_t w_lo, int8x16_t w_hi, size_t b) const {
    return block_dot_split(w_lo, w_hi, xs + 64 * b);
  }
};

}  // namespace

void quantize_blocks_split_dotprod(const float* x, size_t k, int16_t* xq, float* block_scales) {
  int8_t* out = reinterpret_cast<int8_t*>(xq);
  quantize_blocks_i16_as(x, k, kSplitMax, block_scales, [out](size_t b, int g, int16x8_t q) {
    // q = 256 * hi + lo with lo, the low byte, taken as signed, and hi = (q + 128) >> 8 (no overflow: |q| <=
    // kSplitMax).
    vst1_s8(out + 64 * b + 8 * g, vshrn_n_s16(vaddq_s16(q, vdupq_n_s16(128)), 8));
    vst1_s8(out + 64 * b + 32 + 8 * g, vmovn_s16(q));
  });
}

float dot_q8_0_split_dotprod(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return dot_q8_0_blocks(row, bs, k, SplitBlockDot{reinterpret_cast<const int8_t*>(xq)});
}
float dot_q4_0_split_dotprod(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return dot_q4_blocks<false>(row, bs, k, SplitBlockDot{reinterpret_cast<const int8_t*>(xq)});
}
float dot_q4_1_split_dotprod(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return dot_q4_blocks<true>(row, bs, k, SplitBlockDot{reinterpret_cast<const int8_t*>(xq)});
}

constinit const cpu::CpuKernels kDotprodKernels = make_dotprod_kernels();

}  // namespace tern::arm
