#pragma once
// AVX2 (+FMA, F16C) kernels. Compiled with -mavx2 -mfma -mf16c; only called after the registry has checked
// that the CPU has those features.
#include <cstddef>
#include <cstdint>

#include "tern/plugin/backend_api.h"

namespace tern::x86 {

// Sum over K of code[i] * q[i], where code in {0,1,2} is the 2-bit I2_S code (weight + 1). K % 128 == 0.
// Subtracting sum(q) gives the exact ternary dot product.
int32_t i2s_dot_codes_avx2(const uint8_t* row, const int8_t* q, size_t k);
// The same for four tokens at once (activations q, q + k, q + 2k, q + 3k): the prefill kernel.
void i2s_dot_codes_x4_avx2(const uint8_t* row, const int8_t* q, size_t k, int32_t out[4]);
// Same for one 256-element TQ2_0 block's codes (64 bytes).
int32_t tq2_block_dot_codes_avx2(const uint8_t* qs, const int8_t* q);

float dot_f32_avx2(const float* a, const float* b, size_t n);
// Dequantizes a row of F32/F16/BF16/Q8_0/Q4_0/Q4_1 to floats; returns false for other types.
bool dequantize_row_avx2(DType type, const uint8_t* row, float* out, size_t k);

void matmul_avx2(const WeightView& w, const float* x, float* y, size_t n_tokens, bool quantize_activations,
                 const Parallel& par);
bool matmul_avx2_supports(DType t);

}  // namespace tern::x86
