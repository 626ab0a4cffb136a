// Attention, bit-identical to ref::attention: every float operation of the reference, in the same order, only
// several of them at once. The reference sums each score over the head dimension and each output over the
// keys, one after the other; here a vector lane runs one such sum (eight keys' scores at once, eight output
// dimensions at once), so no sum is reordered. This file is compiled with -ffp-contract=off: a multiply and
// an add fused into one FMA would round once instead of twice, and the greedy outputs hinge on near-ties.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "reference_kernels.h"
#include "x86_kernels.h"

namespace tern::x86 {
namespace {

// Rows r[0..7] of an 8x8 block become its columns: r[i] holds element i of each original row.
inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// The unscaled scores of 8 * NB consecutive keys: lane l of the result b is sum over d (in order) of
// q[d] * k[8 b + l][d]. NB independent sums hide the add latency.
template <int NB>
inline void scores_8xnb(const float* q, const float* k, size_t kv_dim, size_t hd, __m256 s[NB]) {
  for (int b = 0; b < NB; ++b) s[b] = _mm256_setzero_ps();
  for (size_t d = 0; d < hd; d += 8) {
    for (int b = 0; b < NB; ++b) {
      __m256 kt[8];
      for (size_t l = 0; l < 8; ++l) kt[l] = _mm256_loadu_ps(k + (8 * size_t(b) + l) * kv_dim + d);
      transpose8x8(kt);
      for (size_t i = 0; i < 8; ++i)
        s[b] = _mm256_add_ps(s[b], _mm256_mul_ps(_mm256_set1_ps(q[d + i]), kt[i]));
    }
  }
}

}  // namespace

void attention_avx2(const AttentionArgs& a, const Parallel& par) {
  const size_t hd = a.head_dim, kv_dim = a.n_head_kv * hd, group = a.n_head / a.n_head_kv;
  if (hd % 8 != 0) return ref::attention(a, par);
  par.for_range(a.n_tokens * a.n_head, [&](size_t i0, size_t i1) {
    std::vector<float> score(a.pos0 + a.n_tokens);
    const __m256 scale = _mm256_set1_ps(a.scale);
    for (size_t i = i0; i < i1; ++i) {
      const size_t t = i / a.n_head, h = i % a.n_head, kvh = h / group;
      const float* q = a.q + (t * a.n_head + h) * hd;
      const float* k = a.k_cache + kvh * hd;
      const size_t n_keys = a.pos0 + t + 1;
      size_t j = 0;
      for (; j + 16 <= n_keys; j += 16) {
        __m256 s[2];
        scores_8xnb<2>(q, k + j * kv_dim, kv_dim, hd, s);
        for (int b = 0; b < 2; ++b) _mm256_storeu_ps(&score[j + 8 * size_t(b)], _mm256_mul_ps(s[b], scale));
      }
      for (; j + 8 <= n_keys; j += 8) {
        __m256 s[1];
        scores_8xnb<1>(q, k + j * kv_dim, kv_dim, hd, s);
        _mm256_storeu_ps(&score[j], _mm256_mul_ps(s[0], scale));
      }
      for (; j < n_keys; ++j) {
        float s = 0;
        for (size_t d = 0; d < hd; ++d) s += q[d] * k[j * kv_dim + d];
        score[j] = s * a.scale;
      }
      const float mx = *std::max_element(score.begin(), score.begin() + ptrdiff_t(n_keys));
      float sum = 0;
      for (j = 0; j < n_keys; ++j) sum += score[j] = std::exp(score[j] - mx);
      for (j = 0; j < n_keys; ++j) score[j] /= sum;
      // out[d] = sum over keys (in order) of p[j] * v[j][d], 64 dimensions per pass over the keys.
      const float* v = a.v_cache + kvh * hd;
      float* out = a.out + (t * a.n_head + h) * hd;
      for (size_t d0 = 0; d0 < hd; d0 += 64) {
        const size_t nv = std::min<size_t>(8, (hd - d0) / 8);
        __m256 o[8];
        for (size_t b = 0; b < nv; ++b) o[b] = _mm256_setzero_ps();
        for (j = 0; j < n_keys; ++j) {
          const __m256 p = _mm256_set1_ps(score[j]);
          const float* vj = v + j * kv_dim + d0;
          for (size_t b = 0; b < nv; ++b)
            o[b] = _mm256_add_ps(o[b], _mm256_mul_ps(p, _mm256_loadu_ps(vj + 8 * b)));
        }
        for (size_t b = 0; b < nv; ++b) _mm256_storeu_ps(out + d0 + 8 * b, o[b]);
      }
    }
  });
}

}  // namespace tern::x86
