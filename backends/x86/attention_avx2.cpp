// Attention, bit-identical to ref::attention: every float operation of the reference, in the same order, only
// several of them at once, on a KV cache of any of kv_cache_types() read in place. The reference sums each
// score over the head dimension and each output over the keys, one after the other; here a vector lane runs
// one such sum (eight keys' scores at once, eight output dimensions at once), so no sum is reordered. The
// tree is compiled with -ffp-contract=off: a multiply and an add fused into one FMA would round once instead
// of twice, and the greedy outputs hinge on near-ties.
#include <immintrin.h>

#include <cstring>

#include "x86_kernels.h"

namespace tern::x86 {
namespace {

// Eight consecutive elements (d, d % 8 == 0) of a cache row as floats, and one element: the exact values
// dequantize_row gives, so the sums below are the reference's.
template <DType kCache>
struct CacheRow;
template <>
struct CacheRow<DType::F32> {
  static __m256 load8(const uint8_t* row, size_t d) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + d);
  }
  static float at(const uint8_t* row, size_t d) { return reinterpret_cast<const float*>(row)[d]; }
};
template <>
struct CacheRow<DType::F16> {
  static __m256 load8(const uint8_t* row, size_t d) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * d)));
  }
  static float at(const uint8_t* row, size_t d) { return fp16_to_fp32(half_at(row + 2 * d)); }
  static uint16_t half_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return h;
  }
};
template <>
struct CacheRow<DType::Q8_0> {
  // d * q is exact in float (an 11-bit significand times an 8-bit integer), whatever the order.
  static __m256 load8(const uint8_t* row, size_t d) {
    const uint8_t* block = row + d / 32 * 34;
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(CacheRow<DType::F16>::half_at(block)));
    const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + d % 32));
    return _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)));
  }
  static float at(const uint8_t* row, size_t d) {
    const uint8_t* block = row + d / 32 * 34;
    return fp16_to_fp32(CacheRow<DType::F16>::half_at(block)) * float(int8_t(block[2 + d % 32]));
  }
};

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

// Scaled scores of NH query heads (q + h * hd) that share one KV head, for keys [0, n_keys): score[h * stride
// + j] = (sum over d, in order, of q_h[d] * k_j[d]) * scale. Each 8x8 block of keys is transposed once for
// all NH heads (GQA), so that lane l holds key l's sum; NB blocks of keys at a time give NH * NB independent
// sums to hide the add latency.
template <DType kCache, int NH, int NB>
void head_scores(const float* q, size_t hd, const uint8_t* k, size_t row_bytes, size_t n_keys, float scale,
                 float* score, size_t stride) {
  using Row = CacheRow<kCache>;
  size_t j = 0;
  for (; j + 8 * NB <= n_keys; j += 8 * NB) {
    __m256 s[NH][NB];
    for (auto& sh : s)
      for (auto& sb : sh) sb = _mm256_setzero_ps();
    for (size_t d = 0; d < hd; d += 8)
      for (int b = 0; b < NB; ++b) {
        __m256 kt[8];
        for (size_t l = 0; l < 8; ++l) kt[l] = Row::load8(k + (j + 8 * size_t(b) + l) * row_bytes, d);
        transpose8x8(kt);
        for (int h = 0; h < NH; ++h)
          for (size_t i = 0; i < 8; ++i)
            s[h][b] = _mm256_add_ps(s[h][b], _mm256_mul_ps(_mm256_set1_ps(q[h * hd + d + i]), kt[i]));
      }
    for (int h = 0; h < NH; ++h)
      for (int b = 0; b < NB; ++b)
        _mm256_storeu_ps(score + h * stride + j + 8 * size_t(b),
                         _mm256_mul_ps(s[h][b], _mm256_set1_ps(scale)));
  }
  for (; j < n_keys; ++j)
    for (int h = 0; h < NH; ++h) {
      float s = 0;
      for (size_t d = 0; d < hd; ++d) s += q[h * hd + d] * Row::at(k + j * row_bytes, d);
      score[h * stride + j] = s * scale;
    }
}

// out[0, 8 NV) = sum over keys j (in order) of p[j] * v_j[d0 + d]. NV is a constant so that the accumulators
// stay in registers.
template <DType kCache, int NV>
inline void weighted_sum_of_values(const float* p, const uint8_t* v, size_t row_bytes, size_t n_keys,
                                   size_t d0, float* out) {
  __m256 o[NV];
  for (int b = 0; b < NV; ++b) o[b] = _mm256_setzero_ps();
  for (size_t j = 0; j < n_keys; ++j) {
    const __m256 pj = _mm256_set1_ps(p[j]);
    for (int b = 0; b < NV; ++b)
      o[b] = _mm256_add_ps(o[b], _mm256_mul_ps(pj, CacheRow<kCache>::load8(v + j * row_bytes, d0 + 8 * b)));
  }
  for (int b = 0; b < NV; ++b) _mm256_storeu_ps(out + d0 + 8 * b, o[b]);
}

}  // namespace

template <DType kCache>
void attention_head_scores_avx2(size_t nh, const float* q, size_t hd, const uint8_t* k, size_t row_bytes,
                                size_t n_keys, float scale, float* score, size_t stride) {
  switch (nh) {
    case 1:
      return head_scores<kCache, 1, 2>(q, hd, k, row_bytes, n_keys, scale, score, stride);
    case 2:
      return head_scores<kCache, 2, 1>(q, hd, k, row_bytes, n_keys, scale, score, stride);
    case 3:
      return head_scores<kCache, 3, 1>(q, hd, k, row_bytes, n_keys, scale, score, stride);
    default:
      return head_scores<kCache, 4, 1>(q, hd, k, row_bytes, n_keys, scale, score, stride);
  }
}

template <DType kCache>
void attention_weighted_values_avx2(const float* p, const uint8_t* v, size_t row_bytes, size_t n_keys,
                                    size_t hd, float* out) {
  // 64 dimensions per pass over the keys, then 8 at a time.
  size_t d0 = 0;
  for (; d0 + 64 <= hd; d0 += 64) weighted_sum_of_values<kCache, 8>(p, v, row_bytes, n_keys, d0, out);
  for (; d0 < hd; d0 += 8) weighted_sum_of_values<kCache, 1>(p, v, row_bytes, n_keys, d0, out);
}

#define TERN_ATTENTION_AVX2(type)                                                                          \
  template void attention_head_scores_avx2<type>(size_t, const float*, size_t, const uint8_t*, size_t,     \
                                                 size_t, float, float*, size_t);                           \
  template void attention_weighted_values_avx2<type>(const float*, const uint8_t*, size_t, size_t, size_t, \
                                                     float*);
TERN_ATTENTION_AVX2(DType::F32)
TERN_ATTENTION_AVX2(DType::F16)
TERN_ATTENTION_AVX2(DType::Q8_0)
#undef TERN_ATTENTION_AVX2

}  // namespace tern::x86
