// Compiled with -march=armv8.2-a+dotprod.
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

constinit const cpu::CpuKernels kDotprodKernels = make_dotprod_kernels();

}  // namespace tern::arm
