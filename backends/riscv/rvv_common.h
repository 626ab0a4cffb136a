#pragma once
// Helpers of the rvv kernel files; included only by files compiled with -march=rv64gcv (or more).
#include <riscv_vector.h>

#include <cstddef>
#include <cstdint>

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

inline float sum_f32(vfloat32m4_t v, size_t vl) {
  return __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredusum_vs_f32m4_f32m1(v, __riscv_vfmv_s_f_f32m1(0.0f, 1), vl));
}

// sum over i < n of load(a, i) * b[i], each lane its own running sum. Full vectors accumulate tail-agnostic
// (a tail-undisturbed FMA would need a vsetvli around every one); the last partial vector is summed apart.
template <vfloat32m4_t (*kLoad)(const uint8_t*, size_t), size_t kElemBytes>
float row_dot(const uint8_t* a, const float* b, size_t n) {
  const size_t vlmax = __riscv_vsetvlmax_e32m4();
  vfloat32m4_t acc = __riscv_vfmv_v_f_f32m4(0.0f, vlmax);
  size_t i = 0;
  for (; i + vlmax <= n; i += vlmax)
    acc = __riscv_vfmacc_vv_f32m4(acc, kLoad(a + kElemBytes * i, vlmax), __riscv_vle32_v_f32m4(b + i, vlmax),
                                  vlmax);
  float tail = 0.0f;
  if (i < n) {
    const size_t vl = __riscv_vsetvl_e32m4(n - i);
    tail = sum_f32(
        __riscv_vfmul_vv_f32m4(kLoad(a + kElemBytes * i, vl), __riscv_vle32_v_f32m4(b + i, vl), vl), vl);
  }
  return sum_f32(acc, vlmax) + tail;
}

// k values of 2-byte elements, converted by kLoad.
template <vfloat32m4_t (*kLoad)(const uint8_t*, size_t)>
void dequantize(const uint8_t* row, float* out, size_t k) {
  for (size_t i = 0; i < k;) {
    const size_t vl = __riscv_vsetvl_e32m4(k - i);
    __riscv_vse32_v_f32m4(out + i, kLoad(row + 2 * i, vl), vl);
    i += vl;
  }
}

}  // namespace tern::rvv
