// Float-output kernels for RVV 1.0 (compiled with -march=rv64gcv), vector-length agnostic. Block types take
// one 32-weight block per vector (vl = 32 fits every VLEN >= 128 at the LMULs below), so their per-block
// scales stay scalar.
#include <riscv_vector.h>

#include <algorithm>
#include <cmath>

#include "reference_kernels.h"
#include "rvv_common.h"
#include "rvv_kernels.h"
#include "tern/dtype.h"

namespace tern::rvv {
namespace {

inline vfloat32m4_t load_f16x(const uint8_t* p, size_t vl) {
  return f16_to_f32(__riscv_vle16_v_u16m2(reinterpret_cast<const uint16_t*>(p), vl), vl);
}
inline vfloat32m4_t load_f32x(const uint8_t* p, size_t vl) {
  return __riscv_vle32_v_f32m4(reinterpret_cast<const float*>(p), vl);
}
inline vfloat32m4_t load_bf16x(const uint8_t* p, size_t vl) {
  const vuint16m2_t h = __riscv_vle16_v_u16m2(reinterpret_cast<const uint16_t*>(p), vl);
  return __riscv_vreinterpret_v_u32m4_f32m4(__riscv_vsll_vx_u32m4(__riscv_vwcvtu_x_x_v_u32m4(h, vl), 16, vl));
}

// The integer dot of a block's 32 weights (lo: weights 0-15, hi: 16-31, int8) with its int16 activations.
inline int32_t block_dot_i16(vint8m1_t lo, vint8m1_t hi, const int16_t* xq) {
  const size_t vl = __riscv_vsetvl_e8m1(16);
  vint32m4_t acc = __riscv_vwmul_vv_i32m4(__riscv_vsext_vf2_i16m2(lo, vl), __riscv_vle16_v_i16m2(xq, vl), vl);
  acc = __riscv_vwmacc_vv_i32m4(acc, __riscv_vsext_vf2_i16m2(hi, vl), __riscv_vle16_v_i16m2(xq + 16, vl), vl);
  return __riscv_vmv_x_s_i32m1_i32(__riscv_vredsum_vs_i32m4_i32m1(acc, __riscv_vmv_s_x_i32m1(0, 1), vl));
}

// The blocks' f16 values at `offset` in each kBlock-byte block (a strided load) times the activation scales
// bs[2 b + which], for n blocks: rv64gc has no f16 conversion, and a scalar one per block would cost more
// than the block's dot.
template <size_t kBlock>
void block_scale_products(const uint8_t* blocks, size_t offset, const float* bs, size_t which, size_t n,
                          float* out) {
  for (size_t b = 0; b < n;) {
    const size_t vl = __riscv_vsetvl_e32m4(n - b);
    const vuint16m2_t h =
        __riscv_vlse16_v_u16m2(reinterpret_cast<const uint16_t*>(blocks + b * kBlock + offset), kBlock, vl);
    const vfloat32m4_t s = __riscv_vlse32_v_f32m4(bs + 2 * b + which, 2 * sizeof(float), vl);
    __riscv_vse32_v_f32m4(out + b, __riscv_vfmul_vv_f32m4(f16_to_f32(h, vl), s, vl), vl);
    b += vl;
  }
}

// Sum over blocks of float(dot of block b) * d_b * bs[2 b] (+ m_b * bs[2 b + 1] with a min), the scale
// products computed a chunk of blocks at a time. BlockDot(block, xq) gives a block's integer dot.
template <size_t kBlock, bool kHasMin, int32_t (*kBlockDot)(const uint8_t*, const int16_t*)>
float blocks_dot(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  constexpr size_t kChunk = 64;
  float ds[kChunk], ms[kChunk];
  float acc = 0, side = 0;
  const size_t nb = k / 32;
  for (size_t b0 = 0; b0 < nb; b0 += kChunk) {
    const size_t n = std::min(kChunk, nb - b0);
    const uint8_t* blocks = row + b0 * kBlock;
    block_scale_products<kBlock>(blocks, 0, bs + 2 * b0, 0, n, ds);
    if (kHasMin) {
      block_scale_products<kBlock>(blocks, 2, bs + 2 * b0, 1, n, ms);
      for (size_t b = 0; b < n; ++b) side += ms[b];
    }
    for (size_t b = 0; b < n; ++b) acc += float(kBlockDot(blocks + b * kBlock, xq + 32 * (b0 + b))) * ds[b];
  }
  return acc + side;
}

// Q8_0: f16 scale, 32 int8 weights.
int32_t q8_0_block_dot(const uint8_t* blk, const int16_t* xq) {
  const size_t vl = __riscv_vsetvl_e8m1(16);
  const int8_t* qs = reinterpret_cast<const int8_t*>(blk + 2);
  return block_dot_i16(__riscv_vle8_v_i8m1(qs, vl), __riscv_vle8_v_i8m1(qs + 16, vl), xq);
}

// Q4_0 (18-byte blocks: f16 scale, 16 bytes) and Q4_1 (20: scale, min, 16 bytes): low nibbles are weights
// 0-15, high nibbles 16-31; Q4_0 weights are the nibble minus 8.
template <bool kHasMin>
int32_t q4_block_dot(const uint8_t* blk, const int16_t* xq) {
  const size_t vl = __riscv_vsetvl_e8m1(16);
  const vuint8m1_t p = __riscv_vle8_v_u8m1(blk + (kHasMin ? 4 : 2), vl);
  vint8m1_t lo = __riscv_vreinterpret_v_u8m1_i8m1(__riscv_vand_vx_u8m1(p, 15, vl));
  vint8m1_t hi = __riscv_vreinterpret_v_u8m1_i8m1(__riscv_vsrl_vx_u8m1(p, 4, vl));
  if (!kHasMin) {
    lo = __riscv_vsub_vx_i8m1(lo, 8, vl);
    hi = __riscv_vsub_vx_i8m1(hi, 8, vl);
  }
  return block_dot_i16(lo, hi, xq);
}

}  // namespace

float dot_f32_rvv(const float* a, const float* b, size_t n) {
  return row_dot<load_f32x, 4>(reinterpret_cast<const uint8_t*>(a), b, n);
}
float dot_f16_rvv(const uint8_t* row, const float* x, size_t k) {
  return row_dot<load_f16x, 2>(row, x, k);
}
float dot_bf16_rvv(const uint8_t* row, const float* x, size_t k) {
  return row_dot<load_bf16x, 2>(row, x, k);
}

void quantize_blocks_i16_rvv(const float* x, size_t k, int16_t* xq, float* block_scales) {
  const size_t vl = __riscv_vsetvl_e32m8(32);
  for (size_t b = 0; b < k / 32; ++b) {
    const vfloat32m8_t v = __riscv_vle32_v_f32m8(x + 32 * b, vl);
    const float a = __riscv_vfmv_f_s_f32m1_f32(
        __riscv_vfredmax_vs_f32m8_f32m1(__riscv_vfabs_v_f32m8(v, vl), __riscv_vfmv_s_f_f32m1(0.0f, 1), vl));
    const float inv = a > 0.0f ? 32767.0f / a : 0.0f;
    // Round to nearest (even), as x86's cvtps does; |x * inv| <= 32767, so the narrowing cannot saturate.
    const vint16m4_t q = __riscv_vncvt_x_x_w_i16m4(
        __riscv_vfcvt_x_f_v_i32m8_rm(__riscv_vfmul_vf_f32m8(v, inv, vl), __RISCV_FRM_RNE, vl), vl);
    __riscv_vse16_v_i16m4(xq + 32 * b, q, vl);
    const int32_t sum =
        __riscv_vmv_x_s_i32m1_i32(__riscv_vwredsum_vs_i16m4_i32m1(q, __riscv_vmv_s_x_i32m1(0, 1), vl));
    // A NaN (max ignores it, the conversion turns it into a number) must still reach the outputs.
    const bool nan = __riscv_vcpop_m_b4(__riscv_vmfne_vv_f32m8_b4(v, v, vl), vl) != 0;
    const float scale = nan ? NAN : a / 32767.0f;
    block_scales[2 * b] = scale;
    block_scales[2 * b + 1] = scale * float(sum);
  }
}

float dot_q8_0_i16_rvv(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return blocks_dot<34, false, q8_0_block_dot>(row, xq, bs, k);
}
float dot_q4_0_i16_rvv(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return blocks_dot<18, false, q4_block_dot<false>>(row, xq, bs, k);
}
float dot_q4_1_i16_rvv(const uint8_t* row, const int16_t* xq, const float* bs, size_t k) {
  return blocks_dot<20, true, q4_block_dot<true>>(row, xq, bs, k);
}

void dequantize_f16_row_rvv(const uint8_t* row, float* out, size_t k) {
  dequantize<load_f16x>(row, out, k);
}
void dequantize_bf16_row_rvv(const uint8_t* row, float* out, size_t k) {
  dequantize<load_bf16x>(row, out, k);
}

void gated_activation_rvv(const float* gate, const float* up, float* out, size_t n, Activation act) {
  if (act != Activation::Relu2) return ref::gated_activation(gate, up, out, n, act);
  for (size_t i = 0; i < n;) {
    const size_t vl = __riscv_vsetvl_e32m4(n - i);
    const vfloat32m4_t g = __riscv_vle32_v_f32m4(gate + i, vl);
    const vbool8_t positive = __riscv_vmfgt_vf_f32m4_b8(g, 0.0f, vl);
    const vfloat32m4_t a = __riscv_vmerge_vvm_f32m4(__riscv_vfmv_v_f_f32m4(0.0f, vl),
                                                    __riscv_vfmul_vv_f32m4(g, g, vl), positive, vl);
    __riscv_vse32_v_f32m4(out + i, __riscv_vfmul_vv_f32m4(a, __riscv_vle32_v_f32m4(up + i, vl), vl), vl);
    i += vl;
  }
}

}  // namespace tern::rvv
