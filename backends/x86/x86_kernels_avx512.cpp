#if defined(TERN_X86_AVX512_SIMDE)
// Portable AVX-512 for the conformance tests on CPUs without it (on top of AVX2 where SIMDe can).
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
// GCC 12's AVX-512 headers self-initialize their "undefined" vectors (`__m512i __Y = __Y;`), which
// -Wuninitialized reports in every caller (GCC PR 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cstring>

// No STL containers in this file: their template instances are weak symbols, and a copy compiled here with
// AVX-512 flags could be the one the linker keeps for the AVX2 code too (see simd_reduce.h).
#include "dpbusd_avx512.h"
#include "simd_reduce.h"
#include "tq1_decode_avx512.h"
#include "x86_kernels_avx512.h"

namespace tern::x86 {
namespace {

inline __m512i load512(const void* p) {
  return _mm512_loadu_si512(p);
}
// 32 bytes at p in both 256-bit halves: a broadcast load, no shuffle.
inline __m512i load256_twice(const uint8_t* p) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// Per-16-bit-element shift counts: `lo` in the low 256 bits, `hi` in the high 256 bits.
inline __m512i shift_counts(short lo, short hi) {
  return _mm512_inserti64x4(_mm512_set1_epi16(lo), _mm256_set1_epi16(hi), 1);
}

inline __m256i halves_added(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

inline int32_t hsum_epi32(__m512i v) {
  return hsum_epi32(halves_added(v));
}

}  // namespace

// An I2_S block is 32 bytes for 128 weights: element 32 * m + j is bits (6 - 2m) of byte j. With the block in
// both halves of a zmm, one variable shift by (6, 4) yields the codes of elements 0-63 in order, and (2, 0)
// those of 64-127, so the activations are plain contiguous loads.
namespace {

// One I2_S row's sums of code * q in sixteen int32 lanes (not yet added together). Two blocks (one cache
// line) per iteration into four accumulators: with two, each iteration waited for two vpdpbusd latencies
// (scripts/mca_kernels.py, icelake-server: 5.1 cycles per block with two, 3.05 with four).
inline __m512i i2s_row_acc(const uint8_t* row, const int8_t* q, size_t k) {
  const __m512i mask = _mm512_set1_epi8(3), sh01 = shift_counts(6, 4), sh23 = shift_counts(2, 0);
  __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                    _mm512_setzero_si512()};
  auto block = [&](size_t b, __m512i& acc01, __m512i& acc23) {
    const __m512i p = load256_twice(row + b * 32);
    acc01 = dpbusd(acc01, _mm512_and_si512(_mm512_srlv_epi16(p, sh01), mask), load512(q + b * 128));
    acc23 = dpbusd(acc23, _mm512_and_si512(_mm512_srlv_epi16(p, sh23), mask), load512(q + b * 128 + 64));
  };
  const size_t nb = k / 128;
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    _mm_prefetch(reinterpret_cast<const char*>(row + b * 32 + kPrefetchBytes), _MM_HINT_T0);
    block(b, acc[0], acc[1]);
    block(b + 1, acc[2], acc[3]);
  }
  if (b < nb) block(b, acc[0], acc[1]);
  return _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3]));
}

}  // namespace

int32_t i2s_dot_codes_avx512vnni(const uint8_t* row, const int8_t* q, size_t k) {
  return hsum_epi32(i2s_row_acc(row, q, k));
}

void i2s_gemv_codes_avx512vnni(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  dots_in_fours(n_rows, dots, [&](size_t r) { return halves_added(i2s_row_acc(rows + r * (k / 4), q, k)); });
}

namespace {

// One block's int32 tile sums stored as its dots (see store_tile_block_dots).
template <int R, int NT>
inline void store_tile_block_sums(const __m512i (&acc)[NT][R], int32_t* out, size_t out_stride,
                                  size_t n_blocks, size_t b) {
  __m256i sums[NT][R];
  for (int t = 0; t < NT; ++t)
    for (int r = 0; r < R; ++r) sums[t][r] = halves_added(acc[t][r]);
  store_tile_block_dots<R, NT>(sums, out, out_stride, n_blocks, b);
}

// R rows x NT tokens, as I2sTile in x86_kernels_avx2.cpp; vpdpbusd accumulates in int32, so there are no
// int16 runs to widen.
template <int R, int NT>
struct I2sTile {
  static void run(const uint8_t* rows, size_t row_bytes, const int8_t* q, size_t k, int32_t* out,
                  size_t out_stride) {
    const __m512i mask = _mm512_set1_epi8(3), sh01 = shift_counts(6, 4), sh23 = shift_counts(2, 0);
    __m512i acc[NT][R];
    for (auto& at : acc)
      for (auto& v : at) v = _mm512_setzero_si512();
    for (size_t b = 0; b < k / 128; ++b) {
      __m512i c01[R], c23[R];
      for (int r = 0; r < R; ++r) {
        const __m512i p = load256_twice(rows + r * row_bytes + b * 32);
        c01[r] = _mm512_and_si512(_mm512_srlv_epi16(p, sh01), mask);
        c23[r] = _mm512_and_si512(_mm512_srlv_epi16(p, sh23), mask);
      }
      for (int t = 0; t < NT; ++t) {
        const __m512i x01 = load512(q + t * k + b * 128), x23 = load512(q + t * k + b * 128 + 64);
        for (int r = 0; r < R; ++r) acc[t][r] = dpbusd(dpbusd(acc[t][r], c01[r], x01), c23[r], x23);
      }
    }
    store_tile_block_sums(acc, out, out_stride, 1, 0);
  }
};

}  // namespace

void i2s_gemm_codes_avx512vnni(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                               int32_t* dots) {
  gemm_in_tiles<I2sTile>(rows, n_rows, k / 4, q, n_tokens, k, dots, 1);
}

namespace {

// A TQ2_0 block's codes are two 32-byte chunks; element 128 * c + 32 * m + j is bits 2m of byte j of chunk c.
inline __m512i tq2_block_acc(const uint8_t* qs, const int8_t* q) {
  const __m512i mask = _mm512_set1_epi8(3), sh01 = shift_counts(0, 2), sh23 = shift_counts(4, 6);
  _mm_prefetch(reinterpret_cast<const char*>(qs + kPrefetchBytes), _MM_HINT_T0);  // as in the AVX2 kernel
  __m512i acc = _mm512_setzero_si512();
  for (int c = 0; c < 2; ++c) {
    const __m512i p = load256_twice(qs + 32 * c);
    acc = dpbusd(acc, _mm512_and_si512(_mm512_srlv_epi16(p, sh01), mask), load512(q + 128 * c));
    acc = dpbusd(acc, _mm512_and_si512(_mm512_srlv_epi16(p, sh23), mask), load512(q + 128 * c + 64));
  }
  return acc;
}

}  // namespace

int32_t tq2_block_dot_codes_avx512vnni(const uint8_t* qs, const int8_t* q) {
  return hsum_epi32(tq2_block_acc(qs, q));
}

void tq2_row_dots_avx512vnni(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots) {
  dots_in_fours(n_blocks, dots,
                [&](size_t b) { return halves_added(tq2_block_acc(row + b * 66, q + b * 256)); });
}

namespace {

// Four vpdpbusd per block, against AVX2's ten multiply-add pairs.
inline __m512i tq1_block_acc(const uint8_t* blk, const int8_t* q) {
  _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes), _MM_HINT_T0);
  const Tq1BlockCodes c = tq1_block_codes(blk);
  const __m512i q_x4_tail = _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 128))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 224)), 1);
  const __m512i a =
      dpbusd(dpbusd(_mm512_setzero_si512(), c.e0_63, load512(q)), c.e128_159_224_255, q_x4_tail);
  const __m512i b =
      dpbusd(dpbusd(_mm512_setzero_si512(), c.e64_127, load512(q + 64)), c.e160_223, load512(q + 160));
  return _mm512_add_epi32(a, b);
}

}  // namespace

int32_t tq1_block_dot_codes_avx512vnni(const uint8_t* blk, const int8_t* q) {
  return hsum_epi32(tq1_block_acc(blk, q));
}

void tq1_row_dots_avx512vnni(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots) {
  dots_in_fours(n_blocks, dots,
                [&](size_t b) { return halves_added(tq1_block_acc(row + b * 54, q + b * 256)); });
}

namespace {

// Tq2Tile of x86_kernels_avx2.cpp with vpdpbusd: half a block (128 weights) per two instructions.
template <int R, int NT>
struct Tq2Tile {
  static void run(const uint8_t* rows, size_t row_bytes, const int8_t* q, size_t k, int32_t* out,
                  size_t out_stride) {
    const __m512i mask = _mm512_set1_epi8(3), sh01 = shift_counts(0, 2), sh23 = shift_counts(4, 6);
    const size_t nb = k / 256;
    for (size_t b = 0; b < nb; ++b) {
      __m512i acc[NT][R];
      for (auto& at : acc)
        for (auto& v : at) v = _mm512_setzero_si512();
      for (int half = 0; half < 2; ++half) {
        __m512i c01[R], c23[R];
        for (int r = 0; r < R; ++r) {
          const __m512i p = load256_twice(rows + r * row_bytes + b * 66 + 32 * half);
          c01[r] = _mm512_and_si512(_mm512_srlv_epi16(p, sh01), mask);
          c23[r] = _mm512_and_si512(_mm512_srlv_epi16(p, sh23), mask);
        }
        for (int t = 0; t < NT; ++t) {
          const int8_t* x = q + t * k + b * 256 + 128 * half;
          const __m512i x01 = load512(x), x23 = load512(x + 64);
          for (int r = 0; r < R; ++r) acc[t][r] = dpbusd(dpbusd(acc[t][r], c01[r], x01), c23[r], x23);
        }
      }
      store_tile_block_sums(acc, out, out_stride, nb, b);
    }
  }
};

}  // namespace

void tq2_gemm_dots_avx512vnni(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                              int32_t* dots) {
  gemm_in_tiles<Tq2Tile>(rows, n_rows, k / 256 * 66, q, n_tokens, k, dots, k / 256);
}

// tl2_tile_dot_avx2 with four groups per instruction: one 64-byte load holds the indices of pairs j and j + 1
// (a group per 128-bit lane) and the tables of a quad are contiguous (tl2_lut_pair_offset). Negated groups
// use a masked 0xFF - byte (= ~byte) and the sign counts, as there.
namespace {

// NT tokens at once, as tl2_tile_dot_tokens in tl2_kernels_avx2.cpp: the weights' indices, masks and sign
// counts are decoded once for all of them.
template <int NT>
void tl2_tile_dot_tokens(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t k, int32_t* out) {
  const size_t n_super = tl2_groups(k) / kTL2SuperGroups;
  const __m512i low4 = _mm512_set1_epi8(0x0f), ones = _mm512_set1_epi8(char(0xff));
  const __m256i low4_256 = _mm256_set1_epi8(0x0f);
  const __m256i popcount4 = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2,
                                             2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  // Sign bit of pair j (low 256 bits) and pair j + 1 (high 256 bits) moved to bit 7: rows 0-15 hold it in bit
  // j, rows 16-31 in bit 4 + j.
  const __m512i sign_lo[2] = {shift_counts(7, 6), shift_counts(5, 4)};
  const __m512i sign_hi[2] = {shift_counts(3, 2), shift_counts(1, 0)};
  __m256i acc32[NT][4], negatives32[4];
  for (auto& a : acc32) a[0] = a[1] = a[2] = a[3] = _mm256_setzero_si256();
  for (auto& n : negatives32) n = _mm256_setzero_si256();
  // A super-block adds at most 2 * 385 to an int16 lane (two lookups per lane); 32 of them stay below 32767.
  // Sign counts add at most 4 per super-block to a uint8 lane: 128 after 32.
  for (size_t s0 = 0; s0 < n_super; s0 += 32) {
    __m512i acc[NT][4];
    for (auto& a : acc) a[0] = a[1] = a[2] = a[3] = _mm512_setzero_si512();
    __m256i negatives[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (size_t s = s0; s < std::min(s0 + 32, n_super); ++s) {
      const uint8_t* sb = tile + s * kTL2SuperBytes;
      _mm_prefetch(reinterpret_cast<const char*>(sb + kPrefetchBytes), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(sb + kPrefetchBytes + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(sb + kPrefetchBytes + 128), _MM_HINT_T0);
      const __m256i signs256 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + 128));
      negatives[0] =
          _mm256_add_epi8(negatives[0], _mm256_shuffle_epi8(popcount4, _mm256_and_si256(signs256, low4_256)));
      negatives[1] = _mm256_add_epi8(
          negatives[1],
          _mm256_shuffle_epi8(popcount4, _mm256_and_si256(_mm256_srli_epi16(signs256, 4), low4_256)));
      const __m512i signs = _mm512_broadcast_i64x4(signs256);
      for (int h = 0; h < 2; ++h) {  // pairs (0, 1), then (2, 3)
        const __m512i w = load512(sb + 64 * h);
        const __m512i idx[2] = {_mm512_and_si512(w, low4), _mm512_and_si512(_mm512_srli_epi16(w, 4), low4)};
        const __mmask64 neg[2] = {_mm512_movepi8_mask(_mm512_sllv_epi16(signs, sign_lo[h])),
                                  _mm512_movepi8_mask(_mm512_sllv_epi16(signs, sign_hi[h]))};
        for (int t = 0; t < NT; ++t) {
          const uint8_t* L = lut + t * lut_stride + tl2_lut_pair_offset(4 * s + 2 * size_t(h));
          const __m512i t_lo = load512(L), t_hi = load512(L + 64);
          for (int r = 0; r < 2; ++r) {  // rows 0-15, rows 16-31
            __m512i lo = _mm512_shuffle_epi8(t_lo, idx[r]), hi = _mm512_shuffle_epi8(t_hi, idx[r]);
            lo = _mm512_mask_sub_epi8(lo, neg[r], ones, lo);
            hi = _mm512_mask_sub_epi8(hi, neg[r], ones, hi);
            acc[t][2 * r] = _mm512_add_epi16(acc[t][2 * r], _mm512_unpacklo_epi8(lo, hi));
            acc[t][2 * r + 1] = _mm512_add_epi16(acc[t][2 * r + 1], _mm512_unpackhi_epi8(lo, hi));
          }
        }
      }
    }
    for (int h = 0; h < 2; ++h) {  // as in tl2_tile_dot_avx2, but the two lanes' counts (up to 128 each) are
                                   // widened before they are added
      const __m128i l0 = _mm256_castsi256_si128(negatives[h]), l1 = _mm256_extracti128_si256(negatives[h], 1);
      negatives32[2 * h] = _mm256_add_epi32(
          negatives32[2 * h], _mm256_add_epi32(_mm256_cvtepu8_epi32(l0), _mm256_cvtepu8_epi32(l1)));
      negatives32[2 * h + 1] = _mm256_add_epi32(
          negatives32[2 * h + 1], _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(l0, 8)),
                                                   _mm256_cvtepu8_epi32(_mm_srli_si128(l1, 8))));
    }
    // Each 128-bit lane holds eight rows' sums for one group of the quad: widen and add the four lanes.
    // acc[0]: rows 0-7, [1]: rows 8-15, [2]: rows 16-23, [3]: rows 24-31.
    for (int t = 0; t < NT; ++t)
      for (int a = 0; a < 4; ++a) {
        const __m256i l01 = _mm512_castsi512_si256(acc[t][a]), l23 = _mm512_extracti64x4_epi64(acc[t][a], 1);
        const __m256i s01 = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(l01)),
                                             _mm256_cvtepi16_epi32(_mm256_extracti128_si256(l01, 1)));
        const __m256i s23 = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(l23)),
                                             _mm256_cvtepi16_epi32(_mm256_extracti128_si256(l23, 1)));
        acc32[t][a] = _mm256_add_epi32(acc32[t][a], _mm256_add_epi32(s01, s23));
      }
  }
  for (int t = 0; t < NT; ++t)
    for (int a = 0; a < 4; ++a)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * t + 8 * a),
                          _mm256_add_epi32(acc32[t][a], negatives32[a]));
}

}  // namespace

void tl2_tile_dot_avx512(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens,
                         size_t k, int32_t* out) {
  size_t t = 0;
  for (; t + 2 <= n_tokens; t += 2)
    tl2_tile_dot_tokens<2>(tile, lut + t * lut_stride, lut_stride, k, out + 32 * t);
  if (t < n_tokens) tl2_tile_dot_tokens<1>(tile, lut + t * lut_stride, lut_stride, k, out + 32 * t);
}

namespace {

template <DType kType>
inline __m256 load8_half_ps(const uint8_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kType == DType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

template <DType kType>
inline __m512 load16_half(const uint8_t* p) {
#if defined(TERN_X86_AVX512_SIMDE)  // SIMDe has no 512-bit vcvtph2ps / vpmovzxwd: two 256-bit halves
  return _mm512_insertf32x8(_mm512_castps256_ps512(load8_half_ps<kType>(p)), load8_half_ps<kType>(p + 16), 1);
#else
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (kType == DType::F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
#endif
}

// NT tokens' dots with one row, 16 weights per step: one conversion, then NT FMAs.
template <DType kType, int NT>
void dots_half_tokens_avx512(const uint8_t* row, const float* x, size_t k, float* out, size_t out_stride) {
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= k; i += 16) {
    _mm_prefetch(reinterpret_cast<const char*>(row + 2 * i + kPrefetchBytesHalf), _MM_HINT_T0);
    const __m512 w = load16_half<kType>(row + 2 * i);
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_fmadd_ps(w, _mm512_loadu_ps(x + t * k + i), acc[t]);
  }
  for (int t = 0; t < NT; ++t) {
    // The two 256-bit halves, then eight lanes (SIMDe has no _mm512_reduce_add_ps).
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(acc[t]),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[t]), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    float s = _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
    for (size_t j = i; j < k; ++j) {
      uint16_t h;
      __builtin_memcpy(&h, row + 2 * j, 2);
      s += (kType == DType::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h)) * x[t * k + j];
    }
    out[t * out_stride] = s;
  }
}

template <DType kType>
void dots_half_row_avx512(const uint8_t* row, const float* x, size_t k, size_t n_tokens, float* out,
                          size_t out_stride) {
  // Up to 8 tokens per pass (8 accumulators): the conversion of each weight is shared by all of them.
  for (size_t t = 0; t < n_tokens; t += 8) {
    const size_t nt = std::min<size_t>(8, n_tokens - t);
    const float* xt = x + t * k;
    float* o = out + t * out_stride;
    switch (nt) {
      case 8:
        dots_half_tokens_avx512<kType, 8>(row, xt, k, o, out_stride);
        break;
      case 7:
        dots_half_tokens_avx512<kType, 7>(row, xt, k, o, out_stride);
        break;
      case 6:
        dots_half_tokens_avx512<kType, 6>(row, xt, k, o, out_stride);
        break;
      case 5:
        dots_half_tokens_avx512<kType, 5>(row, xt, k, o, out_stride);
        break;
      case 4:
        dots_half_tokens_avx512<kType, 4>(row, xt, k, o, out_stride);
        break;
      case 3:
        dots_half_tokens_avx512<kType, 3>(row, xt, k, o, out_stride);
        break;
      case 2:
        dots_half_tokens_avx512<kType, 2>(row, xt, k, o, out_stride);
        break;
      default:
        dots_half_tokens_avx512<kType, 1>(row, xt, k, o, out_stride);
        break;
    }
  }
}

// cpu::RowDotsFn. With 32 registers a row's 8 tokens already share each activation load over 16 weights.
template <DType kType>
void dots_half_f32_avx512(const uint8_t* rows, size_t row_bytes, size_t n_rows, const float* x, size_t k,
                          size_t n_tokens, float* out, size_t out_stride) {
  for (size_t r = 0; r < n_rows; ++r)
    dots_half_row_avx512<kType>(rows + r * row_bytes, x, k, n_tokens, out + r, out_stride);
}

// The AVX2 table with the AVX-512 kernels swapped in (TQ1_0's prefill keeps AVX2's, which decodes each row
// once for every token). Built at compile time, as AVX2's.
constexpr cpu::CpuKernels make_avx512vnni_kernels() {
  cpu::CpuKernels k = make_avx2_kernels();
  k.ternary_for(DType::I2_S) = {i2s_gemv_codes_avx512vnni, i2s_gemm_codes_avx512vnni};
  k.ternary_for(DType::TQ2_0) = {cpu::gemv_by_rows<66, tq2_row_dots_avx512vnni>, tq2_gemm_dots_avx512vnni,
                                 tq_block_scales_avx2<66>};
  k.ternary_for(DType::TQ1_0).gemv = cpu::gemv_by_rows<54, tq1_row_dots_avx512vnni>;
  k.lut_for(DType::TL2).tile_dot = tl2_tile_dot_avx512;
  k.floats_for(DType::F16).row_dots = dots_half_f32_avx512<DType::F16>;
  k.floats_for(DType::BF16).row_dots = dots_half_f32_avx512<DType::BF16>;
  return k;
}
}  // namespace

constinit const cpu::CpuKernels kAvx512VnniKernels = make_avx512vnni_kernels();

}  // namespace tern::x86
