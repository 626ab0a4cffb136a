#pragma once
// AMX-INT8 prefill kernels (tdpbsud): compiled with AVX-512 and AMX flags for the x86-amx plugin, which the
// registry loads only where the CPU has AMX-TILE and AMX-INT8 and Linux has granted this process the tile
// data state (cpu_features.cpp asks for it). Decode keeps the AVX-512 VNNI kernels: one token cannot fill a
// tile.
#include "x86_kernels.h"

namespace tern::x86 {

// TernaryTypeKernels::gemm contracts (cpu_kernels.h): exact int32 sums of code * q, I2_S one per row, TQ2_0 /
// TQ1_0 one per 256-weight block. Each call decodes its rows' codes once into tiles and runs them against
// every token of the call.
void i2s_gemm_codes_amx(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                        int32_t* dots);
void tq2_gemm_dots_amx(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                       int32_t* dots);
void tq1_gemm_dots_amx(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                       int32_t* dots);

// Q8_0 / Q4_0 / Q4_1 prefill of n_tokens >= kAmxFloatMinTokens on AMX-BF16 (amx_float_gemm.cpp): integer
// weights exact in bf16, activations split into three bf16 terms (float's 24 bits), fp32 sums; within float
// rounding of the reference. Other types go to oneDNN. An ExternalGemm::float_gemm.
inline constexpr size_t kAmxFloatMinTokens = 16;
bool amx_float_gemm_takes(DType t, size_t n_tokens);
void amx_float_gemm(const WeightView& w, const float* x, float* y, size_t n_tokens, const Parallel& par);

// The AVX-512 VNNI table with the AMX prefill kernels swapped in.
extern const cpu::CpuKernels kAmxKernels;

}  // namespace tern::x86
