// The rvv-zvfhmin variant's own kernels, compiled with -march=rv64gcv_zvfhmin: F16 rows widened to f32 by
// vfwcvt, one instruction where plain V needs integer operations and a multiply (rvv_common.h).
#include <riscv_vector.h>

#include "rvv_common.h"
#include "rvv_kernels.h"

namespace tern::rvv {
namespace {

inline vfloat32m4_t load_f16x_zvfhmin(const uint8_t* p, size_t vl) {
  return __riscv_vfwcvt_f_f_v_f32m4(__riscv_vle16_v_f16m2(reinterpret_cast<const _Float16*>(p), vl), vl);
}

}  // namespace

float dot_f16_rvv_zvfhmin(const uint8_t* row, const float* x, size_t k) {
  return row_dot<load_f16x_zvfhmin, 2>(row, x, k);
}
void dequantize_f16_row_rvv_zvfhmin(const uint8_t* row, float* out, size_t k) {
  dequantize<load_f16x_zvfhmin>(row, out, k);
}

}  // namespace tern::rvv
