#pragma once
// Included only by files compiled with -march=rv64gcv.
#include <riscv_vector.h>

namespace tern::rvv {

// f16 bits widened to f32 with integer operations and one exact multiply, so that plain V is enough (Zvfhmin
// would do it in one instruction): the magnitude shifted into place is the value times 2^-112, normal or
// subnormal; exponent 31 (inf, NaN) becomes 255.
inline vfloat32m4_t f16_to_f32(vuint16m2_t h, size_t vl) {
  const vuint32m4_t w = __riscv_vwcvtu_x_x_v_u32m4(h, vl);
  const vuint32m4_t mag = __riscv_vsll_vx_u32m4(__riscv_vand_vx_u32m4(w, 0x7fff, vl), 13, vl);
  vuint32m4_t bits = __riscv_vreinterpret_v_f32m4_u32m4(
      __riscv_vfmul_vf_f32m4(__riscv_vreinterpret_v_u32m4_f32m4(mag), 0x1p112f, vl));
  const vbool8_t inf_nan = __riscv_vmseq_vx_u32m4_b8(__riscv_vand_vx_u32m4(w, 0x7c00, vl), 0x7c00, vl);
  bits = __riscv_vmerge_vvm_u32m4(bits, __riscv_vor_vx_u32m4(mag, 0x7f800000, vl), inf_nan, vl);
  bits = __riscv_vor_vv_u32m4(bits, __riscv_vsll_vx_u32m4(__riscv_vand_vx_u32m4(w, 0x8000, vl), 16, vl), vl);
  return __riscv_vreinterpret_v_u32m4_f32m4(bits);
}

}  // namespace tern::rvv
