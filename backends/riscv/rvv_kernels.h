#pragma once
// The RVV 1.0 kernel table for the CPU driver (plugin `rvv`). Kernels are vector-length agnostic: every loop
// asks vsetvl how many lanes it gets, so one binary runs at any VLEN (tested at 128, 256 and 512 under qemu).
// Only the kernel library is compiled with -march=rv64gcv; the table is built at compile time (constinit),
// so loading the plugin runs none of its code before the registry has seen V on the CPU.
#include <cstddef>
#include <cstdint>

#include "cpu_kernels.h"

namespace tern::rvv {

// ref::quantize_activations_i8 bit for bit: the same multiply, rounding half away from zero (the RMM rounding
// mode) as std::round does.
float quantize_activations_rvv(const float* x, int8_t* q, size_t k);
int32_t sum_i8_rvv(const int8_t* q, size_t n);

// Ternary decode and prefill kernels (cpu::TernaryGemvFn / TernaryGemmFn), exact (rvv_ternary.cpp).
void i2s_gemv_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void i2s_gemm_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots);
void tq2_gemv_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void tq2_gemm_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots);
void tq1_gemv_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void tq1_gemm_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots);

// TL1 (rvv_tl1.cpp, docs/tl1.md): per-token tables of pair sums in int16, looked up with vrgather for 16 rows
// per lane group; exact.
size_t tl1_lut_bytes_rvv(size_t k);
size_t tl1_lut_units_rvv(size_t k);
void tl1_build_lut_rvv(const int8_t* q, size_t k, size_t unit0, size_t unit1, uint8_t* lut);
void tl1_tile_dot_rvv(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens, size_t k,
                      int32_t* out);

// The driver's scaled_epilogue and the TQ block scales (cpu::ScaledEpilogueFn / BlockScalesFn), exact.
void scaled_epilogue_rvv(const int32_t* dots, const float* scales, const int32_t* qsum, float xs,
                         size_t n_rows, size_t n_groups, float* y);
void tq2_block_scales_rvv(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales);
void tq1_block_scales_rvv(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales);

// Float-output types (rvv_float.cpp): F16 / BF16 row dots decoding the weights in registers (F16 widened with
// integer operations, so plain V suffices: no Zvfh), Q8_0 / Q4_0 / Q4_1 decode on int16 activations as on x86
// and Arm, and F16 / BF16 rows dequantized for prefill (the other types' with the reference).
float dot_f32_rvv(const float* a, const float* b, size_t n);
float dot_f16_rvv(const uint8_t* row, const float* x, size_t k);
float dot_bf16_rvv(const uint8_t* row, const float* x, size_t k);
void quantize_blocks_i16_rvv(const float* x, size_t k, int16_t* xq, float* block_scales);
float dot_q8_0_i16_rvv(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
float dot_q4_0_i16_rvv(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
float dot_q4_1_i16_rvv(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
void dequantize_f16_row_rvv(const uint8_t* row, float* out, size_t k);
void dequantize_bf16_row_rvv(const uint8_t* row, float* out, size_t k);

// cpu::AttentionKernels (rvv_attention.cpp): one reference sum per lane, lanes over keys (strided loads of
// the key rows) and over output dimensions; any head size.
void attention_head_scores_rvv(size_t nh, const float* q, size_t hd, const uint8_t* k, size_t row_bytes,
                               size_t n_keys, float scale, float* score, size_t stride);
void attention_weighted_values_rvv(const float* p, const uint8_t* v, size_t row_bytes, size_t n_keys,
                                   size_t hd, float* out);

// ref::gated_activation bit for bit: relu^2 vectorized, SiLU left to the reference (a vector exp would round
// differently).
void gated_activation_rvv(const float* gate, const float* up, float* out, size_t n, Activation act);

constexpr cpu::CpuKernels make_rvv_kernels() {
  cpu::CpuKernels k;
  k.quantize_activations = quantize_activations_rvv;
  k.sum_i8 = sum_i8_rvv;
  k.ternary_for(DType::I2_S) = {i2s_gemv_rvv, i2s_gemm_rvv};
  k.ternary_for(DType::TQ2_0) = {tq2_gemv_rvv, tq2_gemm_rvv, tq2_block_scales_rvv};
  k.ternary_for(DType::TQ1_0) = {tq1_gemv_rvv, tq1_gemm_rvv, tq1_block_scales_rvv};
  k.lut_for(DType::TL1) = {tl1_lut_bytes_rvv, tl1_lut_units_rvv, tl1_build_lut_rvv, tl1_tile_dot_rvv};
  k.scaled_epilogue = scaled_epilogue_rvv;
  k.floats_for(DType::F32) = {nullptr, nullptr, cpu::reference_dequantize_row<DType::F32>};
  k.floats_for(DType::F16) = {nullptr, dot_f16_rvv, dequantize_f16_row_rvv};
  k.floats_for(DType::BF16) = {nullptr, dot_bf16_rvv, dequantize_bf16_row_rvv};
  k.floats_for(DType::Q8_0) = {dot_q8_0_i16_rvv, nullptr, cpu::reference_dequantize_row<DType::Q8_0>};
  k.floats_for(DType::Q4_0) = {dot_q4_0_i16_rvv, nullptr, cpu::reference_dequantize_row<DType::Q4_0>};
  k.floats_for(DType::Q4_1) = {dot_q4_1_i16_rvv, nullptr, cpu::reference_dequantize_row<DType::Q4_1>};
  k.quantize_blocks_i16 = quantize_blocks_i16_rvv;
  k.dot_f32 = dot_f32_rvv;
  k.attention.head_dim_multiple = 1;
  k.attention.head_scores[dtype_index(DType::F32)] = attention_head_scores_rvv;
  k.attention.weighted_values[dtype_index(DType::F32)] = attention_weighted_values_rvv;
  k.gated_activation = gated_activation_rvv;
  return k;
}
extern const cpu::CpuKernels kRvvKernels;

// rvv-zvfhmin (V + Zvfhmin, rvv_zvfhmin.cpp): the same table with F16 converted by vfwcvt.
float dot_f16_rvv_zvfhmin(const uint8_t* row, const float* x, size_t k);
void dequantize_f16_row_rvv_zvfhmin(const uint8_t* row, float* out, size_t k);

constexpr cpu::CpuKernels make_rvv_zvfhmin_kernels() {
  cpu::CpuKernels k = make_rvv_kernels();
  k.floats_for(DType::F16) = {nullptr, dot_f16_rvv_zvfhmin, dequantize_f16_row_rvv_zvfhmin};
  return k;
}
extern const cpu::CpuKernels kRvvZvfhminKernels;

}  // namespace tern::rvv
