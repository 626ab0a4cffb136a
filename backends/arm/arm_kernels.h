#pragma once
// Arm kernel tables for the CPU driver: arm-neon (Armv8-A baseline), arm-dotprod (+sdot) and arm-i8mm
// (+smmla prefill tiles). Each variant's kernels are compiled with its own -march and called only after the
// registry has checked the CPU. The tables are built at compile time (constinit), so loading a plugin runs
// none of its code.
#include <cstddef>
#include <cstdint>

#include "cpu_kernels.h"

namespace tern::arm {

// ref::quantize_activations_i8 bit for bit: the same float multiply, and vrndaq rounds half away from zero as
// std::round does.
float quantize_activations_neon(const float* x, int8_t* q, size_t k);
int32_t sum_i8_neon(const int8_t* q, size_t n);

// Ternary decode and prefill kernels (cpu::TernaryGemvFn / TernaryGemmFn), exact.
void i2s_gemv_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void i2s_gemm_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots);
void tq2_gemv_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void tq2_gemm_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots);
void tq1_gemv_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void tq1_gemm_neon(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots);

// TL1 (docs/tl1.md): per-token tables of pair sums, looked up with tbl for 16 rows at a time; exact.
size_t tl1_lut_bytes(size_t k);
size_t tl1_lut_units(size_t k);
void tl1_build_lut_neon(const int8_t* q, size_t k, size_t unit0, size_t unit1, uint8_t* lut);
void tl1_tile_dot_neon(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens, size_t k,
                       int32_t* out);

// Float-output types: F16 / BF16 row dots decoding the weights in registers (decode), and rows dequantized
// for prefill.
float dot_f32_neon(const float* a, const float* b, size_t n);
float dot_f16_neon(const uint8_t* row, const float* x, size_t k);
float dot_bf16_neon(const uint8_t* row, const float* x, size_t k);
// Decode of Q8_0 / Q4_0 / Q4_1 on int16 activations, as on x86 (x86_kernels.h, quantize_blocks_i16_avx2):
// each 32-value block of x as round(x * 32767 / max |x|) and its scale, so the weights multiply in integers
// (vmlal) and one float multiply-add per block applies both scales.
void quantize_blocks_i16_neon(const float* x, size_t k, int16_t* xq, float* block_scales);
float dot_q8_0_i16_neon(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
float dot_q4_0_i16_neon(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
float dot_q4_1_i16_neon(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
void dequantize_f16_row_neon(const uint8_t* row, float* out, size_t k);
void dequantize_bf16_row_neon(const uint8_t* row, float* out, size_t k);

// cpu::AttentionKernels (attention_neon.cpp): the reference's sums, four at a time; head sizes must be
// multiples of 4.
void attention_head_scores_neon(size_t nh, const float* q, size_t hd, const uint8_t* k, size_t row_bytes,
                                size_t n_keys, float scale, float* score, size_t stride);
void attention_weighted_values_neon(const float* p, const uint8_t* v, size_t row_bytes, size_t n_keys,
                                    size_t hd, float* out);

// ref::gated_activation bit for bit: relu^2 vectorized, SiLU left to the reference (a vector exp would round
// differently).
void gated_activation_neon(const float* gate, const float* up, float* out, size_t n, Activation act);

constexpr cpu::CpuKernels make_neon_kernels() {
  cpu::CpuKernels k;
  k.quantize_activations = quantize_activations_neon;
  k.sum_i8 = sum_i8_neon;
  k.ternary_for(DType::I2_S) = {i2s_gemv_neon, i2s_gemm_neon};
  k.ternary_for(DType::TQ2_0) = {tq2_gemv_neon, tq2_gemm_neon};
  k.ternary_for(DType::TQ1_0) = {tq1_gemv_neon, tq1_gemm_neon};
  k.lut_for(DType::TL1) = {tl1_lut_bytes, tl1_lut_units, tl1_build_lut_neon, tl1_tile_dot_neon};
  k.floats_for(DType::F32) = {nullptr, nullptr, cpu::reference_dequantize_row<DType::F32>};
  k.floats_for(DType::F16) = {nullptr, dot_f16_neon, dequantize_f16_row_neon};
  k.floats_for(DType::BF16) = {nullptr, dot_bf16_neon, dequantize_bf16_row_neon};
  k.floats_for(DType::Q8_0) = {dot_q8_0_i16_neon, nullptr, cpu::reference_dequantize_row<DType::Q8_0>};
  k.floats_for(DType::Q4_0) = {dot_q4_0_i16_neon, nullptr, cpu::reference_dequantize_row<DType::Q4_0>};
  k.floats_for(DType::Q4_1) = {dot_q4_1_i16_neon, nullptr, cpu::reference_dequantize_row<DType::Q4_1>};
  k.quantize_blocks_i16 = quantize_blocks_i16_neon;
  k.dot_f32 = dot_f32_neon;
  k.attention.head_dim_multiple = 4;
  k.attention.head_scores[dtype_index(DType::F32)] = attention_head_scores_neon;
  k.attention.weighted_values[dtype_index(DType::F32)] = attention_weighted_values_neon;
  k.gated_activation = gated_activation_neon;
  return k;
}
extern const cpu::CpuKernels kNeonKernels;

// sdot (Armv8.2-A dotprod): one instruction per 16 code x activation products.
void i2s_gemv_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void i2s_gemm_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                      int32_t* dots);
void tq2_gemv_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void tq2_gemm_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                      int32_t* dots);
void tq1_gemv_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void tq1_gemm_dotprod(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                      int32_t* dots);

// Decode of Q8_0 / Q4_0 / Q4_1 with sdot: each int16 activation (scaled to +-32639 instead of +-32767) stored
// as two int8 halves, x = 256 * hi + lo, a block as its 32 high bytes then its 32 low bytes in the same 64
// bytes the driver reserves for 32 int16s; four sdot per block instead of eight widening multiply-adds.
void quantize_blocks_split_dotprod(const float* x, size_t k, int16_t* xq, float* block_scales);
float dot_q8_0_split_dotprod(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
float dot_q4_0_split_dotprod(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
float dot_q4_1_split_dotprod(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);

constexpr cpu::CpuKernels make_dotprod_kernels() {
  cpu::CpuKernels k = make_neon_kernels();
  k.ternary_for(DType::I2_S) = {i2s_gemv_dotprod, i2s_gemm_dotprod};
  k.ternary_for(DType::TQ2_0) = {tq2_gemv_dotprod, tq2_gemm_dotprod};
  k.ternary_for(DType::TQ1_0) = {tq1_gemv_dotprod, tq1_gemm_dotprod};
  k.quantize_blocks_i16 = quantize_blocks_split_dotprod;
  k.floats_for(DType::Q8_0).row_dot_i16 = dot_q8_0_split_dotprod;
  k.floats_for(DType::Q4_0).row_dot_i16 = dot_q4_0_split_dotprod;
  k.floats_for(DType::Q4_1).row_dot_i16 = dot_q4_1_split_dotprod;
  return k;
}
extern const cpu::CpuKernels kDotprodKernels;

// smmla (Armv8.6-A i8mm): prefill tiles of two rows x two tokens per instruction; decode keeps sdot.
void i2s_gemm_i8mm(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots);
void tq2_gemm_i8mm(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots);
void tq1_gemm_i8mm(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots);
extern const cpu::CpuKernels kI8mmKernels;

}  // namespace tern::arm
