// Attention's two sums for RVV 1.0, bit-identical to ref::attention: every lane runs one of the reference's
// sums in its order (a key's score over the head dimension, an output dimension over the keys), with a
// separate multiply and add (no FMA), as the reference is compiled (-ffp-contract=off).
#include <riscv_vector.h>

#include "rvv_kernels.h"

namespace tern::rvv {
namespace {

// Scores of NH query heads sharing a KV head, one key per lane: a strided load gathers dimension d of vl
// consecutive keys (key rows are kv_dim floats apart), and every head uses it.
template <int NH>
void head_scores(const float* q, size_t hd, const float* k, size_t kv_dim, size_t n_keys, float scale,
                 float* score, size_t stride) {
  const ptrdiff_t key_stride = ptrdiff_t(kv_dim * sizeof(float));
  for (size_t j = 0; j < n_keys;) {
    const size_t vl = __riscv_vsetvl_e32m2(n_keys - j);
    // Sizeless RVV registers cannot form an array: four named sums, NH of them used.
    vfloat32m2_t s0 = __riscv_vfmv_v_f_f32m2(0.0f, vl), s1 = s0, s2 = s0, s3 = s0;
    auto add = [&](vfloat32m2_t& s, vfloat32m2_t kd, float qd) {
      s = __riscv_vfadd_vv_f32m2(s, __riscv_vfmul_vf_f32m2(kd, qd, vl), vl);
    };
    for (size_t d = 0; d < hd; ++d) {
      const vfloat32m2_t kd = __riscv_vlse32_v_f32m2(k + j * kv_dim + d, key_stride, vl);
      add(s0, kd, q[d]);
      if constexpr (NH > 1) add(s1, kd, q[hd + d]);
      if constexpr (NH > 2) add(s2, kd, q[2 * hd + d]);
      if constexpr (NH > 3) add(s3, kd, q[3 * hd + d]);
    }
    auto store = [&](int h, vfloat32m2_t s) {
      __riscv_vse32_v_f32m2(score + h * stride + j, __riscv_vfmul_vf_f32m2(s, scale, vl), vl);
    };
    store(0, s0);
    if constexpr (NH > 1) store(1, s1);
    if constexpr (NH > 2) store(2, s2);
    if constexpr (NH > 3) store(3, s3);
    j += vl;
  }
}

}  // namespace

void attention_head_scores_rvv(size_t nh, const float* q, size_t hd, const uint8_t* k_rows, size_t row_bytes,
                               size_t n_keys, float scale, float* score, size_t stride) {
  const auto* k = reinterpret_cast<const float*>(k_rows);
  const size_t kv_dim = row_bytes / sizeof(float);
  switch (nh) {
    case 1:
      return head_scores<1>(q, hd, k, kv_dim, n_keys, scale, score, stride);
    case 2:
      return head_scores<2>(q, hd, k, kv_dim, n_keys, scale, score, stride);
    case 3:
      return head_scores<3>(q, hd, k, kv_dim, n_keys, scale, score, stride);
    default:
      return head_scores<4>(q, hd, k, kv_dim, n_keys, scale, score, stride);
  }
}

// out[d] = sum over keys j, in order, of p[j] * v[j * kv_dim + d]: one output dimension per lane.
void attention_weighted_values_rvv(const float* p, const uint8_t* v_rows, size_t row_bytes, size_t n_keys,
                                   size_t hd, float* out) {
  const auto* v = reinterpret_cast<const float*>(v_rows);
  const size_t kv_dim = row_bytes / sizeof(float);
  for (size_t d = 0; d < hd;) {
    const size_t vl = __riscv_vsetvl_e32m8(hd - d);
    vfloat32m8_t o = __riscv_vfmv_v_f_f32m8(0.0f, vl);
    for (size_t j = 0; j < n_keys; ++j)
      o = __riscv_vfadd_vv_f32m8(
          o, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(v + j * kv_dim + d, vl), p[j], vl), vl);
    __riscv_vse32_v_f32m8(out + d, o, vl);
    d += vl;
  }
}

}  // namespace tern::rvv
