#pragma once
// AVX2 (+FMA, F16C) kernels. Compiled with -mavx2 -mfma -mf16c; only called after the registry has checked
// that the CPU has those features.
#include <cstddef>
#include <cstdint>

#include "cpu_kernels.h"
#include "tern/plugin/backend_api.h"

namespace tern::x86 {

// How far ahead of the current load the weight-streaming kernels prefetch (bench: 1-4 KiB all help, 2 KiB
// best).
inline constexpr size_t kPrefetchBytes = 2048;
// The F16 / BF16 row dot (the 2B4T LM head, half of a token's bytes) prefetches once per 64-byte line and
// wants it nearer: BM_GemvFromMemoryAvx2/F16 gains 8-15% at 768-1280 bytes and loses 5-10% at 1536-4096.
inline constexpr size_t kPrefetchBytesHalf = 1024;

// ref::quantize_activations_i8, bit for bit (same scale, same round-half-away-from-zero).
float quantize_activations_avx2(const float* x, int8_t* q, size_t k);

int32_t sum_i8_avx2(const int8_t* q, size_t n);

// Sum over K of code[i] * q[i], where code in {0,1,2} is the 2-bit I2_S code (weight + 1). K % 128 == 0.
// Subtracting sum(q) gives the exact ternary dot product.
int32_t i2s_dot_codes_avx2(const uint8_t* row, const int8_t* q, size_t k);
// i2s_dot_codes_avx2 for n_rows consecutive rows (decode): dots[r] for row r.
void i2s_gemv_codes_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
// The prefill kernel: the same for n_rows consecutive rows and n_tokens tokens (activations q + t * k),
// dots[t * n_rows + r] for token t and row r.
void i2s_gemm_codes_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                         int32_t* dots);
// Same for one 256-element TQ2_0 block's codes (64 bytes).
int32_t tq2_block_dot_codes_avx2(const uint8_t* qs, const int8_t* q);
// Same for one 256-element TQ1_0 block (54 bytes: 48 of five trits, 4 of four trits, the f16 scale).
int32_t tq1_block_dot_codes_avx2(const uint8_t* blk, const int8_t* q);
// The block dots of one TQ2_0 / TQ1_0 row of n_blocks blocks: dots[b] for block b (activations q + 256 b).
void tq2_row_dots_avx2(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots);
void tq1_row_dots_avx2(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots);
// The TQ2_0 prefill kernel: the block dots of n_rows consecutive rows and n_tokens tokens (activations
// q + t * k), dots[(t * n_blocks + b) * n_rows + r] for token t, block b and row r (n_blocks = k / 256).
void tq2_gemm_dots_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                        int32_t* dots);
// The same for TQ1_0 rows.
void tq1_gemm_dots_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                        int32_t* dots);

// cpu::ScaledEpilogueFn, eight rows per vector, each lane the reference's float operations in its order.
void scaled_epilogue_avx2(const int32_t* dots, const float* scales, const int32_t* qsum, float xs,
                          size_t n_rows, size_t n_groups, float* y);
// cpu::BlockScalesFn for TQ2_0 / TQ1_0 rows (kBlockBytes 66 / 54), through F16C.
template <size_t kBlockBytes>
void tq_block_scales_avx2(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales);

// TL2 (docs/tl2.md). A token's lookup tables take kTL2PairLutBytes per group pair, stored by quads of groups
// (two pairs, 128 bytes) so that one 512-bit load takes four groups' tables: the low bytes of the 16 partial
// sums of each group (16 bytes per group), then their high bytes. Pair p's 32-byte slice of the low-byte
// table starts at tl2_lut_pair_offset(p), of the high-byte table 64 bytes later.
inline constexpr size_t kTL2PairLutBytes = 64;
inline constexpr size_t tl2_lut_pair_offset(size_t pair) {
  return pair / 2 * 128 + pair % 2 * 32;
}
size_t tl2_lut_bytes(size_t k);
inline size_t tl2_lut_units(size_t k) {
  return tl2_groups(k) / 2;
}  // group pairs
// Tables for group pairs [pair0, pair1) of one token's int8 activations q (k of them; zero past the end).
void tl2_build_lut_avx2(const int8_t* q, size_t k, size_t pair0, size_t pair1, uint8_t* lut);
// Exact ternary dot products of the 32 rows of one tile with n_tokens tokens, whose tables are at lut +
// t * lut_stride: out[32 * t + r] for token t and row r. The weights are decoded once for all the tokens.
void tl2_tile_dot_avx2(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens, size_t k,
                       int32_t* out);

// cpu::AttentionKernels (attention_avx2.cpp): the reference's sums, eight at a time (eight keys' scores,
// eight output dimensions), on a cache of type kCache (F32, F16, Q8_0) read in place; head sizes must be
// multiples of 8.
template <DType kCache>
void attention_head_scores_avx2(size_t nh, const float* q, size_t hd, const uint8_t* k, size_t row_bytes,
                                size_t n_keys, float scale, float* score, size_t stride);
template <DType kCache>
void attention_weighted_values_avx2(const float* p, const uint8_t* v, size_t row_bytes, size_t n_keys,
                                    size_t hd, float* out);

// ref::gated_activation, bit for bit: relu^2 vectorized (the reference branches on every element's sign,
// which mispredicts half the time), SiLU left to the reference (a vector exp would round differently).
void gated_activation_avx2(const float* gate, const float* up, float* out, size_t n, Activation act);
// ref::rms_norm, bit-identical (y may be x).
void rms_norm_avx2(const float* x, const float* weight, float* y, size_t n_tokens, size_t dim, float eps);

float dot_f32_avx2(const float* a, const float* b, size_t n);
// Dot product of a row of F16 or BF16 weights with f32 activations, converting in registers.
template <DType kType>
float dot_half_f32_avx2(const uint8_t* row, const float* x, size_t k);
// The same for up to cpu::kMaxRowDotsTokens tokens and a few rows at once (cpu::RowDotsFn): each weight
// converted once, each activation loaded once for two rows.
template <DType kType>
void dots_half_f32_avx2(const uint8_t* rows, size_t row_bytes, size_t n_rows, const float* x, size_t k,
                        size_t n_tokens, float* out, size_t out_stride);
// Decode against Q8_0 / Q4_0 / Q4_1 weights runs on int16 activations: the integer weights times int16 in
// vpmaddwd, then one conversion and one FMA per 32-weight block, instead of a conversion and an FMA per eight
// weights (their float dot is compute-bound on Zen 3, where both share two pipes). quantize_blocks_i16_avx2
// turns each 32-float block of x (k % 32 == 0) into xq = round(x * 32767 / max |x|), so that x = s * xq with
// s = max |x| / 32767, off by at most s / 2 (15 bits below the block's largest value, against float's 24 bits
// below each value, and llama.cpp's 7 with 8-bit activations). block_scales[2 b] = s and block_scales[2 b +
// 1] = s * (sum of xq): with the sum of the quantized values, not of x, the m term cancels the rounding error
// of Q4's offset codes (0..15) instead of doubling it. Outputs stay within the float tolerance of the
// reference.
void quantize_blocks_i16_avx2(const float* x, size_t k, int16_t* xq, float* block_scales);
// A row of Q8_0 blocks times xq: sum over blocks of d * s * (sum of q xq).
float dot_q8_0_i16_avx2(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
// A row of Q4_0 / Q4_1 blocks: d * s * (sum of q xq) + m * s * (sum of xq) per block (Q4_0: m = -8 d); of
// Q4_ZP blocks: d * s * (sum of (q - z) xq).
template <DType kType>
float dot_q4_i16_avx2(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
// Dequantizes a row of F32/F16/BF16/Q8_0/Q4_0/Q4_1/Q4_ZP to floats; returns false for other types.
bool dequantize_row_avx2(DType type, const uint8_t* row, float* out, size_t k);

// oneDNN GEMM for prefill (onednn_gemm.cpp). Used where bench_x86_kernels shows it faster than our kernels:
// float types from kOneDnnMinTokensFloat tokens on; never for I2_S, where our kernel wins at every size.
// TERN_ONEDNN=0 turns it off and TERN_ONEDNN=1 uses it for every batch (I2_S included), so whole-model
// benchmarks can compare the two.
enum class OneDnnUse { Auto, Never, Always };
inline constexpr size_t kOneDnnMinTokensFloat = 4;
OneDnnUse onednn_use();
bool onednn_prefers(DType t, size_t n_tokens, OneDnnUse use);
// qsum[t]: sum of token t's activations (the I2_S codes are weight + 1).
void matmul_onednn_i2s(const WeightView& w, const int8_t* xq, const float* xs, const int32_t* qsum, float* y,
                       size_t n_tokens, const Parallel& par);
void matmul_onednn_float(const WeightView& w, const float* x, float* y, size_t n_tokens, const Parallel& par);

template <DType kType>
void dequantize_row_as_avx2(const uint8_t* row, float* out, size_t k) {
  dequantize_row_avx2(kType, row, out, k);
}

// oneDNN for the batches onednn_prefers() gives it (TERN_ONEDNN decides), for the CPU driver.
bool onednn_prefers_by_env(DType t, size_t n_tokens);

// The AVX2 kernel table. Built at compile time (constinit): loading a plugin must run no code the CPU may
// lack, and the registry loads x86-avx512 to read its requirements before it knows whether the CPU has
// AVX-512.
constexpr cpu::CpuKernels make_avx2_kernels() {
  cpu::CpuKernels k;
  k.quantize_activations = quantize_activations_avx2;
  k.sum_i8 = sum_i8_avx2;
  k.ternary_for(DType::I2_S) = {i2s_gemv_codes_avx2, i2s_gemm_codes_avx2};
  k.ternary_for(DType::TQ2_0) = {cpu::gemv_by_rows<66, tq2_row_dots_avx2>, tq2_gemm_dots_avx2,
                                 tq_block_scales_avx2<66>};
  k.ternary_for(DType::TQ1_0) = {cpu::gemv_by_rows<54, tq1_row_dots_avx2>, tq1_gemm_dots_avx2,
                                 tq_block_scales_avx2<54>};
  k.lut_for(DType::TL2) = {tl2_lut_bytes, tl2_lut_units, tl2_build_lut_avx2, tl2_tile_dot_avx2};
  k.floats_for(DType::F32) = {nullptr, nullptr, dequantize_row_as_avx2<DType::F32>};
  k.floats_for(DType::F16) = {nullptr, dot_half_f32_avx2<DType::F16>, dequantize_row_as_avx2<DType::F16>,
                              dots_half_f32_avx2<DType::F16>};
  k.floats_for(DType::BF16) = {nullptr, dot_half_f32_avx2<DType::BF16>, dequantize_row_as_avx2<DType::BF16>,
                               dots_half_f32_avx2<DType::BF16>};
  k.floats_for(DType::Q8_0) = {dot_q8_0_i16_avx2, nullptr, dequantize_row_as_avx2<DType::Q8_0>};
  k.floats_for(DType::Q4_0) = {dot_q4_i16_avx2<DType::Q4_0>, nullptr, dequantize_row_as_avx2<DType::Q4_0>};
  k.floats_for(DType::Q4_1) = {dot_q4_i16_avx2<DType::Q4_1>, nullptr, dequantize_row_as_avx2<DType::Q4_1>};
  k.floats_for(DType::Q4_ZP) = {dot_q4_i16_avx2<DType::Q4_ZP>, nullptr, dequantize_row_as_avx2<DType::Q4_ZP>};
  k.scaled_epilogue = scaled_epilogue_avx2;
  k.dot_f32 = dot_f32_avx2;
  k.quantize_blocks_i16 = quantize_blocks_i16_avx2;
  k.external_gemm = {onednn_prefers_by_env, matmul_onednn_i2s, matmul_onednn_float};
  k.attention.head_dim_multiple = 8;
  k.attention.head_scores[dtype_index(DType::F32)] = attention_head_scores_avx2<DType::F32>;
  k.attention.head_scores[dtype_index(DType::F16)] = attention_head_scores_avx2<DType::F16>;
  k.attention.head_scores[dtype_index(DType::Q8_0)] = attention_head_scores_avx2<DType::Q8_0>;
  k.attention.weighted_values[dtype_index(DType::F32)] = attention_weighted_values_avx2<DType::F32>;
  k.attention.weighted_values[dtype_index(DType::F16)] = attention_weighted_values_avx2<DType::F16>;
  k.attention.weighted_values[dtype_index(DType::Q8_0)] = attention_weighted_values_avx2<DType::Q8_0>;
  k.gated_activation = gated_activation_avx2;
  k.rms_norm = rms_norm_avx2;
  return k;
}
extern const cpu::CpuKernels kAvx2Kernels;

// A copy of `kernels` that sends batches to oneDNN as `use` says, for tests and benchmarks of either path.
inline cpu::CpuKernels with_onednn(cpu::CpuKernels kernels, OneDnnUse use) {
  if (use == OneDnnUse::Never) kernels.external_gemm.prefers = nullptr;
  if (use == OneDnnUse::Always)
    kernels.external_gemm.prefers = [](DType t, size_t n) { return onednn_prefers(t, n, OneDnnUse::Always); };
  return kernels;
}

}  // namespace tern::x86
