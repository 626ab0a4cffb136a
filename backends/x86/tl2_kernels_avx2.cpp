// TL2 lookup-table kernels (layout: docs/tl2.md). Each group of three weights is one 4-bit index into a table
// of the 16 possible partial sums of its three activations, so a vpshufb does 32 rows' worth of three-weight
// multiply-adds. Sums reach 3 * 128, so tables are int16, split into a low-byte and a high-byte table. A
// group with the sign bit set stands for the negated sum: both looked-up bytes are XORed with 0xFF, which
// turns the int16 t into ~t = -t - 1, and the -1s are paid back once per row with the count of its set sign
// bits (a property of the weights alone, counted from the sign bytes with a nibble popcount).
#include <immintrin.h>

#include <algorithm>

#include "x86_kernels.h"

namespace tern::x86 {
namespace {

inline int16_t act(const int8_t* q, size_t k, size_t i) {
  return i < k ? q[i] : 0;
}

// Low bytes of the 16 int16 entries in the low 128 bits, high bytes in the high 128 bits.
inline __m256i split_bytes(__m256i e) {
  const __m256i by_byte =
      _mm256_shuffle_epi8(e, _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4,
                                              6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  return _mm256_permute4x64_epi64(by_byte, 0xd8);
}

inline __m256i load(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

}  // namespace

size_t tl2_lut_bytes(size_t k) {
  return tl2_groups(k) / 2 * kTL2PairLutBytes;
}

void tl2_build_lut_avx2(const int8_t* q, size_t k, size_t pair0, size_t pair1, uint8_t* lut) {
  // Table lanes for code i in [0, 16): weights (i / 9 - 1, i / 3 % 3 - 1, i % 3 - 1). Function-local, not
  // namespace-scope: a static initializer would run AVX2 code when the plugin is loaded, before the CPU
  // check.
  const __m256i kW0 = _mm256_setr_epi16(-1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0);
  const __m256i kW1 = _mm256_setr_epi16(-1, -1, -1, 0, 0, 0, 1, 1, 1, -1, -1, -1, 0, 0, 0, 1);
  const __m256i kW2 = _mm256_setr_epi16(-1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1);
  for (size_t pair = pair0; pair < pair1; ++pair)
    for (size_t lane = 0; lane < 2; ++lane) {
      const size_t g = 2 * pair + lane;
      const __m256i e =
          _mm256_add_epi16(_mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(act(q, k, 3 * g)), kW0),
                                            _mm256_sign_epi16(_mm256_set1_epi16(act(q, k, 3 * g + 1)), kW1)),
                           _mm256_sign_epi16(_mm256_set1_epi16(act(q, k, 3 * g + 2)), kW2));
      const __m256i pos = split_bytes(e);
      uint8_t* dst = lut + tl2_lut_pair_offset(pair) + 16 * lane;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(pos));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 64), _mm256_extracti128_si256(pos, 1));
    }
}

namespace {

// The tile's dot products with NT tokens' tables at once: the indices, sign masks and sign counts come from
// the weights alone, so they are decoded once for all NT tokens (prefill: a small GEMM, not NT GEMVs). NT = 2
// is what AVX2's 16 registers hold without spilling the accumulators.
template <int NT>
void tl2_tile_dot_tokens(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t k, int32_t* out) {
  const size_t n_super = tl2_groups(k) / kTL2SuperGroups;
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  const __m256i popcount4 = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2,
                                             2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  __m256i acc32[NT][4];
  for (auto& a : acc32) a[0] = a[1] = a[2] = a[3] = zero;
  __m256i negatives32[4] = {zero, zero, zero, zero};
  // A super-block adds at most 4 * 385 to an int16 lane; 16 of them stay below 32767. Sign counts add at most
  // 4 per super-block to a uint8 lane: 64 per lane after 16, so the two lanes' sum (128) still fits.
  for (size_t s0 = 0; s0 < n_super; s0 += 16) {
    __m256i acc[NT][4];
    for (auto& a : acc) a[0] = a[1] = a[2] = a[3] = zero;
    __m256i negatives[2] = {zero, zero};  // set sign bits of rows 0-15 (bits 0-3), rows 16-31 (bits 4-7)
    for (size_t s = s0; s < std::min(s0 + 16, n_super); ++s) {
      const uint8_t* sb = tile + s * kTL2SuperBytes;
      _mm_prefetch(reinterpret_cast<const char*>(sb + kPrefetchBytes),
                   _MM_HINT_T0);  // see i2s_dot_codes_avx2
      _mm_prefetch(reinterpret_cast<const char*>(sb + kPrefetchBytes + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(sb + kPrefetchBytes + 128), _MM_HINT_T0);
      const __m256i signs = load(sb + 128);
      negatives[0] =
          _mm256_add_epi8(negatives[0], _mm256_shuffle_epi8(popcount4, _mm256_and_si256(signs, low4)));
      negatives[1] = _mm256_add_epi8(
          negatives[1], _mm256_shuffle_epi8(popcount4, _mm256_and_si256(_mm256_srli_epi16(signs, 4), low4)));
      for (int j = 0; j < 4; ++j) {
        const __m256i w = load(sb + 32 * j);
        // Rows 0-15: low nibbles, sign bit j; rows 16-31: high nibbles, sign bit 4 + j. The shift puts the
        // sign in bit 7, and the signed compare spreads it over the byte.
        const __m256i idx[2] = {_mm256_and_si256(w, low4), _mm256_and_si256(_mm256_srli_epi16(w, 4), low4)};
        const __m256i neg[2] = {_mm256_cmpgt_epi8(zero, _mm256_slli_epi16(signs, 7 - j)),
                                _mm256_cmpgt_epi8(zero, _mm256_slli_epi16(signs, 3 - j))};
        for (int t = 0; t < NT; ++t) {
          const uint8_t* L = lut + t * lut_stride + tl2_lut_pair_offset(4 * s + size_t(j));
          const __m256i t_lo = load(L), t_hi = load(L + 64);
          for (int h = 0; h < 2; ++h) {
            const __m256i lo = _mm256_xor_si256(_mm256_shuffle_epi8(t_lo, idx[h]), neg[h]);
            const __m256i hi = _mm256_xor_si256(_mm256_shuffle_epi8(t_hi, idx[h]), neg[h]);
            acc[t][2 * h] = _mm256_add_epi16(acc[t][2 * h], _mm256_unpacklo_epi8(lo, hi));
            acc[t][2 * h + 1] = _mm256_add_epi16(acc[t][2 * h + 1], _mm256_unpackhi_epi8(lo, hi));
          }
        }
      }
    }
    // Lane 0 holds the even groups and lane 1 the odd groups of the same eight rows; the same goes for the
    // sign counts (lane L counts group 2j + L of rows 0-15 in bytes 0-15).
    for (int h = 0; h < 2; ++h) {
      const __m128i n16 =
          _mm_add_epi8(_mm256_castsi256_si128(negatives[h]), _mm256_extracti128_si256(negatives[h], 1));
      negatives32[2 * h] = _mm256_add_epi32(negatives32[2 * h], _mm256_cvtepu8_epi32(n16));
      negatives32[2 * h + 1] =
          _mm256_add_epi32(negatives32[2 * h + 1], _mm256_cvtepu8_epi32(_mm_srli_si128(n16, 8)));
    }
    for (int t = 0; t < NT; ++t)
      for (int a = 0; a < 4; ++a)
        acc32[t][a] = _mm256_add_epi32(
            acc32[t][a], _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc[t][a])),
                                          _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc[t][a], 1))));
  }
  // acc32[t][0]: rows 0-7, [1]: rows 8-15, [2]: rows 16-23, [3]: rows 24-31.
  for (int t = 0; t < NT; ++t)
    for (int a = 0; a < 4; ++a)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * t + 8 * a),
                          _mm256_add_epi32(acc32[t][a], negatives32[a]));
}

}  // namespace

void tl2_tile_dot_avx2(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens, size_t k,
                       int32_t* out) {
  size_t t = 0;
  for (; t + 2 <= n_tokens; t += 2)
    tl2_tile_dot_tokens<2>(tile, lut + t * lut_stride, lut_stride, k, out + 32 * t);
  if (t < n_tokens) tl2_tile_dot_tokens<1>(tile, lut + t * lut_stride, lut_stride, k, out + 32 * t);
}

}  // namespace tern::x86
