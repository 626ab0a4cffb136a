// Attention, bit-identical to ref::attention (as x86's attention_avx2.cpp): every float operation of the
// reference in the same order, only four of them at once. A vector lane runs one of the reference's sums
// (four keys' scores, four output dimensions), so no sum is reordered. The tree is compiled with
// -ffp-contract=off: a multiply and an add fused into one FMA would round once instead of twice, and greedy
// outputs hinge on near-ties.
#include <arm_neon.h>

#include "arm_kernels.h"

namespace tern::arm {
namespace {

// Rows r[0..3] of a 4x4 block become its columns: r[i] holds element i of each original row.
inline void transpose4x4(float32x4_t r[4]) {
  const float32x4x2_t t01 = vtrnq_f32(r[0], r[1]), t23 = vtrnq_f32(r[2], r[3]);
  r[0] = vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0]));
  r[1] = vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1]));
  r[2] = vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0]));
  r[3] = vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1]));
}

// Scaled scores of NH query heads (q + h * hd) sharing one KV head, for keys [0, n_keys): score[h * stride +
// j] = (sum over d, in order, of q_h[d] * k_j[d]) * scale. Each 4x4 block of keys is transposed once for all
// NH heads; NB blocks at a time give NH * NB independent sums to hide the add latency.
template <int NH, int NB>
void head_scores(const float* q, size_t hd, const float* k, size_t kv_dim, size_t n_keys, float scale,
                 float* score, size_t stride) {
  size_t j = 0;
  for (; j + 4 * NB <= n_keys; j += 4 * NB) {
    float32x4_t s[NH][NB];
    for (auto& sh : s)
      for (auto& sb : sh) sb = vdupq_n_f32(0);
    for (size_t d = 0; d < hd; d += 4)
      for (int b = 0; b < NB; ++b) {
        float32x4_t kt[4];
        for (size_t l = 0; l < 4; ++l) kt[l] = vld1q_f32(k + (j + 4 * size_t(b) + l) * kv_dim + d);
        transpose4x4(kt);
        for (int h = 0; h < NH; ++h)
          for (size_t i = 0; i < 4; ++i) s[h][b] = vaddq_f32(s[h][b], vmulq_n_f32(kt[i], q[h * hd + d + i]));
      }
    for (int h = 0; h < NH; ++h)
      for (int b = 0; b < NB; ++b)
        vst1q_f32(score + h * stride + j + 4 * size_t(b), vmulq_n_f32(s[h][b], scale));
  }
  for (; j < n_keys; ++j)
    for (int h = 0; h < NH; ++h) {
      float s = 0;
      for (size_t d = 0; d < hd; ++d) s += q[h * hd + d] * k[j * kv_dim + d];
      score[h * stride + j] = s * scale;
    }
}

// out[0, 4 NV) = sum over keys j (in order) of p[j] * v[j * kv_dim + d].
template <int NV>
inline void weighted_sum_of_values(const float* p, const float* v, size_t kv_dim, size_t n_keys, float* out) {
  float32x4_t o[NV];
  for (int b = 0; b < NV; ++b) o[b] = vdupq_n_f32(0);
  for (size_t j = 0; j < n_keys; ++j)
    for (int b = 0; b < NV; ++b) o[b] = vaddq_f32(o[b], vmulq_n_f32(vld1q_f32(v + j * kv_dim + 4 * b), p[j]));
  for (int b = 0; b < NV; ++b) vst1q_f32(out + 4 * b, o[b]);
}

}  // namespace

void attention_head_scores_neon(size_t nh, const float* q, size_t hd, const uint8_t* k_rows, size_t row_bytes,
                                size_t n_keys, float scale, float* score, size_t stride) {
  const auto* k = reinterpret_cast<const float*>(k_rows);
  const size_t kv_dim = row_bytes / sizeof(float);
  switch (nh) {
    case 1:
      return head_scores<1, 4>(q, hd, k, kv_dim, n_keys, scale, score, stride);
    case 2:
      return head_scores<2, 2>(q, hd, k, kv_dim, n_keys, scale, score, stride);
    case 3:
      return head_scores<3, 1>(q, hd, k, kv_dim, n_keys, scale, score, stride);
    default:
      return head_scores<4, 1>(q, hd, k, kv_dim, n_keys, scale, score, stride);
  }
}

void attention_weighted_values_neon(const float* p, const uint8_t* v_rows, size_t row_bytes, size_t n_keys,
                                    size_t hd, float* out) {
  const auto* v = reinterpret_cast<const float*>(v_rows);
  const size_t kv_dim = row_bytes / sizeof(float);
  // 32 dimensions per pass over the keys, then 4 at a time.
  size_t d0 = 0;
  for (; d0 + 32 <= hd; d0 += 32) weighted_sum_of_values<8>(p, v + d0, kv_dim, n_keys, out + d0);
  for (; d0 < hd; d0 += 4) weighted_sum_of_values<1>(p, v + d0, kv_dim, n_keys, out + d0);
}

}  // namespace tern::arm
