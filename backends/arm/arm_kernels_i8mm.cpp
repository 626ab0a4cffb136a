// Compiled with -march=armv8.6-a+dotprod+i8mm.
#include "arm_kernels.h"
#include "arm_ternary.h"

namespace tern::arm {
namespace {

// smmla multiplies a 2 x 8 int8 matrix by an 8 x 2 one into a 2 x 2 int32 tile: two rows' codes and two
// tokens' activations, eight weights deep, per instruction. The lanes are (row 0, token 0), (row 0, token 1),
// (row 1, token 0), (row 1, token 1).
struct MmlaTile {
  static void run(const uint8_t* c0, const uint8_t* c1, const int8_t* q0, const int8_t* q1, size_t n,
                  int32_t (&out)[2][2]) {
    int32x4_t acc = vdupq_n_s32(0);
    for (size_t i = 0; i < n; i += 16) {
      const int64x2_t a0 = vreinterpretq_s64_u8(vld1q_u8(c0 + i)),
                      a1 = vreinterpretq_s64_u8(vld1q_u8(c1 + i));
      const int64x2_t b0 = vreinterpretq_s64_s8(vld1q_s8(q0 + i)),
                      b1 = vreinterpretq_s64_s8(vld1q_s8(q1 + i));
      acc =
          vmmlaq_s32(acc, vreinterpretq_s8_s64(vzip1q_s64(a0, a1)), vreinterpretq_s8_s64(vzip1q_s64(b0, b1)));
      acc =
          vmmlaq_s32(acc, vreinterpretq_s8_s64(vzip2q_s64(a0, a1)), vreinterpretq_s8_s64(vzip2q_s64(b0, b1)));
    }
    out[0][0] = vgetq_lane_s32(acc, 0);
    out[1][0] = vgetq_lane_s32(acc, 1);
    out[0][1] = vgetq_lane_s32(acc, 2);
    out[1][1] = vgetq_lane_s32(acc, 3);
  }
};

// The dotprod table with smmla prefill tiles; decode keeps sdot.
constexpr cpu::CpuKernels make_i8mm_kernels() {
  cpu::CpuKernels k = make_dotprod_kernels();
  k.ternary_for(DType::I2_S).gemm = i2s_gemm_i8mm;
  k.ternary_for(DType::TQ2_0).gemm = tq2_gemm_i8mm;
  k.ternary_for(DType::TQ1_0).gemm = tq1_gemm_i8mm;
  return k;
}

}  // namespace

void i2s_gemm_i8mm(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots) {
  ternary_gemm<MmlaTile, DType::I2_S, i2s_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}
void tq2_gemm_i8mm(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots) {
  ternary_gemm<MmlaTile, DType::TQ2_0, tq2_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}
void tq1_gemm_i8mm(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                   int32_t* dots) {
  ternary_gemm<MmlaTile, DType::TQ1_0, tq1_row_codes>(rows, n_rows, q, n_tokens, k, dots);
}

constinit const cpu::CpuKernels kI8mmKernels = make_i8mm_kernels();

}  // namespace tern::arm
