#pragma once
// AVX-512 (F/BW/VL + VNNI) ternary kernels. Compiled with AVX-512 flags for the x86-avx512 plugin, which the
// registry loads only on CPUs with those features. The same source is also compiled against SIMDe's portable
// AVX-512 (TERN_X86_AVX512_SIMDE) into a test-only library, so the kernels are checked against the reference
// on machines without AVX-512 too: tests/test_x86_avx512_kernels.cpp.
#include "x86_kernels.h"

namespace tern::x86 {

// Same contracts as the AVX2 kernels of the same names (x86_kernels.h); vpdpbusd accumulates in int32.
int32_t i2s_dot_codes_avx512vnni(const uint8_t* row, const int8_t* q, size_t k);
void i2s_gemv_codes_avx512vnni(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
void i2s_gemm_codes_avx512vnni(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                               int32_t* dots);
int32_t tq2_block_dot_codes_avx512vnni(const uint8_t* qs, const int8_t* q);
void tq2_row_dots_avx512vnni(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots);
void tq2_gemm_dots_avx512vnni(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                              int32_t* dots);
int32_t tq1_block_dot_codes_avx512vnni(const uint8_t* blk, const int8_t* q);
void tq1_row_dots_avx512vnni(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots);
// Four groups (two pairs, one quad of the table layout) per 512-bit vpshufb.
void tl2_tile_dot_avx512(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens,
                         size_t k, int32_t* out);

// The AVX-512 kernels above in the AVX2 table; TQ1_0's prefill keeps the AVX2 kernel.
extern const cpu::CpuKernels kAvx512VnniKernels;

}  // namespace tern::x86
