#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "reference_kernels.h"
#include "simd_reduce.h"
#include "x86_kernels.h"

namespace tern::x86 {
namespace {

inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline float load_f16(const uint8_t* p) {
  return _cvtsh_ss(load_u16(p));
}
inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

// 32 two-bit codes at bit offset `shift` of each byte, times 32 int8 activations, as 16 int16 pair sums.
inline __m256i codes_times_q(__m256i packed, int shift, const int8_t* q) {
  const __m256i mask = _mm256_set1_epi8(3);
  const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(packed, shift), mask);
  return _mm256_maddubs_epi16(codes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)));
}

}  // namespace

namespace {

// One I2_S row's sums of code * q in eight int32 lanes (not yet added together).
inline __m256i i2s_row_acc(const uint8_t* row, const int8_t* q, size_t k) {
  const __m256i ones = _mm256_set1_epi16(1), mask = _mm256_set1_epi8(3);
  __m256i acc = _mm256_setzero_si256();
  const size_t nb = k / 128;
  // |code * q| <= 2 * 128, two per int16 lane, four groups per block: a block adds at most 2048 to an int16
  // lane, so eight blocks accumulate in int16 before one widening to int32.
  for (size_t b0 = 0; b0 < nb; b0 += 8) {
    __m256i s = _mm256_setzero_si256();
    for (size_t b = b0; b < std::min(b0 + 8, nb); ++b) {
      // Decode streams weights from DRAM; the hardware prefetchers alone leave the loads waiting (measured on
      // 2B4T: 5-8% more tokens/s). A prefetch is only a hint, so running past the tensor's end is harmless.
      _mm_prefetch(reinterpret_cast<const char*>(row + b * 32 + kPrefetchBytes), _MM_HINT_T0);
      const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * 32));
      const int8_t* qb = q + b * 128;
      auto ld = [](const int8_t* a) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)); };
      const __m256i x01 = _mm256_add_epi16(
          _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(p, 6), mask), ld(qb)),
          _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(p, 4), mask), ld(qb + 32)));
      const __m256i x23 =
          _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(p, 2), mask), ld(qb + 64)),
                           _mm256_maddubs_epi16(_mm256_and_si256(p, mask), ld(qb + 96)));
      s = _mm256_add_epi16(s, _mm256_add_epi16(x01, x23));
    }
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, ones));
  }
  return acc;
}

}  // namespace

int32_t i2s_dot_codes_avx2(const uint8_t* row, const int8_t* q, size_t k) {
  return hsum_epi32(i2s_row_acc(row, q, k));
}

void i2s_gemv_codes_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  dots_in_fours(n_rows, dots, [&](size_t r) { return i2s_row_acc(rows + r * (k / 4), q, k); });
}

int32_t sum_i8_avx2(const int8_t* q, size_t n) {
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    acc = _mm256_add_epi32(
        acc, _mm256_madd_epi16(
                 _mm256_maddubs_epi16(ones8, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i))),
                 ones16));
  int32_t s = hsum_epi32(acc);
  for (; i < n; ++i) s += q[i];
  return s;
}

float quantize_activations_avx2(const float* x, int8_t* q, size_t k) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  __m256 amax8 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= k; i += 8) amax8 = _mm256_max_ps(amax8, _mm256_andnot_ps(sign_bit, _mm256_loadu_ps(x + i)));
  float amax = hmax_ps(amax8);
  for (; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float scale = 127.0f / std::max(amax, 1e-5f);
  const __m256 vs = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f), lo = _mm256_set1_ps(-128.0f),
               hi = _mm256_set1_ps(127.0f);
  for (i = 0; i + 32 <= k; i += 32) {
    __m256i r[4];
    for (int j = 0; j < 4; ++j) {
      // std::round (half away from zero), exactly: v - trunc(v) is exact in float, unlike v + 0.5.
      const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vs);
      const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 away =
          _mm256_and_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign_bit, _mm256_sub_ps(v, t)), half, _CMP_GE_OQ),
                        _mm256_or_ps(_mm256_and_ps(v, sign_bit), _mm256_set1_ps(1.0f)));
      r[j] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(t, away), lo), hi));
    }
    // packs interleave 128-bit lanes; the permute puts the 32 bytes back in order.
    const __m256i p16a = _mm256_packs_epi32(r[0], r[1]), p16b = _mm256_packs_epi32(r[2], r[3]);
    const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b),
                                                   _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), p8);
  }
  for (; i < k; ++i) q[i] = int8_t(std::clamp(std::round(x[i] * scale), -128.0f, 127.0f));
  return scale;
}

namespace {

// The step every prefill tile repeats: s[t][r] += the int16 pair sums of codes c[r] times token t's 32
// activations (at q + t * k).
template <int R, int NT>
inline void tile_multiply_add(__m256i (&s)[NT][R], const __m256i (&c)[R], const int8_t* q, size_t k) {
  for (int t = 0; t < NT; ++t) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + t * k));
    for (int r = 0; r < R; ++r) s[t][r] = _mm256_add_epi16(s[t][r], _mm256_maddubs_epi16(c[r], x));
  }
  // Without this, GCC reassociates consecutive steps' additions into trees, which keeps all products alive at
  // once and spills a third of the tile to the stack.
  for (auto& st : s)
    for (auto& v : st) asm("" : "+x"(v));
}

template <int R, int NT>
inline void zero_tile(__m256i (&s)[NT][R]) {
  for (auto& st : s)
    for (auto& v : st) v = _mm256_setzero_si256();
}

// One block's int16 tile sums, widened and stored as its dots (see store_tile_block_dots).
template <int R, int NT>
inline void store_tile_block_sums(const __m256i (&s)[NT][R], int32_t* out, size_t out_stride, size_t n_blocks,
                                  size_t b) {
  __m256i sums[NT][R];
  for (int t = 0; t < NT; ++t)
    for (int r = 0; r < R; ++r) sums[t][r] = _mm256_madd_epi16(s[t][r], _mm256_set1_epi16(1));
  store_tile_block_dots<R, NT>(sums, out, out_stride, n_blocks, b);
}

// R consecutive rows times NT tokens, the register tile of the prefill GEMM: each row's codes are decoded
// once for all NT tokens and each token's activations loaded once for all R rows. R * NT int16 accumulators,
// R codes, one activation vector and the mask fill AVX2's 16 registers at 2 x 4; the int32 totals do not fit
// and live on the stack, touched once per eight blocks, and are reduced only at the end (four per hadd tree:
// a horizontal sum per group of blocks cost about 6%). out[t * out_stride + r].
template <int R, int NT>
struct I2sTile {
  static void run(const uint8_t* rows, size_t row_bytes, const int8_t* q, size_t k, int32_t* out,
                  size_t out_stride) {
    const __m256i mask = _mm256_set1_epi8(3);
    const size_t nb = k / 128;
    __m256i acc[NT][R];
    zero_tile(acc);
    // As in i2s_row_acc: eight blocks add at most 8 * 2048 to an int16 lane, then they are widened.
    for (size_t b0 = 0; b0 < nb; b0 += 8) {
      __m256i s[NT][R];
      zero_tile(s);
      for (size_t b = b0; b < std::min(b0 + 8, nb); ++b) {
        __m256i p[R];
        for (int r = 0; r < R; ++r)
          p[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * row_bytes + b * 32));
        // The low bits of each byte are the block's last 32 codes: take them, shift the next ones down.
        for (int j = 0; j < 4; ++j) {
          __m256i c[R];
          for (int r = 0; r < R; ++r) {
            c[r] = _mm256_and_si256(p[r], mask);
            p[r] = _mm256_srli_epi16(p[r], 2);
          }
          tile_multiply_add(s, c, q + b * 128 + 96 - 32 * j, k);
        }
      }
      const __m256i ones = _mm256_set1_epi16(1);
      for (int t = 0; t < NT; ++t)
        for (int r = 0; r < R; ++r) acc[t][r] = _mm256_add_epi32(acc[t][r], _mm256_madd_epi16(s[t][r], ones));
    }
    store_tile_block_dots<R, NT>(acc, out, out_stride, 1, 0);
  }
};

}  // namespace

void i2s_gemm_codes_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                         int32_t* dots) {
  gemm_in_tiles<I2sTile>(rows, n_rows, k / 4, q, n_tokens, k, dots, 1);
}

namespace {

inline __m256i tq2_block_acc(const uint8_t* qs, const int8_t* q) {
  // See i2s_row_acc: one block adds at most 2 * 4 * 2 * 128 = 2048 to an int16 lane, so its eight products
  // per lane are summed in int16 and widened once.
  _mm_prefetch(reinterpret_cast<const char*>(qs + kPrefetchBytes), _MM_HINT_T0);
  __m256i s = _mm256_setzero_si256();
  for (int j = 0; j < 64; j += 32) {
    const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + j));
    const int8_t* qj = q + j * 4;
    s = _mm256_add_epi16(s, _mm256_add_epi16(codes_times_q(p, 0, qj), codes_times_q(p, 2, qj + 32)));
    s = _mm256_add_epi16(s, _mm256_add_epi16(codes_times_q(p, 4, qj + 64), codes_times_q(p, 6, qj + 96)));
  }
  return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
}

}  // namespace

int32_t tq2_block_dot_codes_avx2(const uint8_t* qs, const int8_t* q) {
  return hsum_epi32(tq2_block_acc(qs, q));
}

void tq2_row_dots_avx2(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots) {
  dots_in_fours(n_blocks, dots, [&](size_t b) { return tq2_block_acc(row + b * 66, q + b * 256); });
}

namespace {

// The TQ2_0 prefill tile: I2sTile's 2 rows x 4 tokens, but every 256-weight block has its own scale, so each
// block's R * NT dots are reduced and stored before the next block starts.
template <int R, int NT>
struct Tq2Tile {
  static void run(const uint8_t* rows, size_t row_bytes, const int8_t* q, size_t k, int32_t* out,
                  size_t out_stride) {
    const __m256i mask = _mm256_set1_epi8(3);
    const size_t nb = k / 256;
    for (size_t b = 0; b < nb; ++b) {
      __m256i s[NT][R];
      zero_tile(s);
      // One block adds at most 8 * 512 to an int16 lane.
      for (int half = 0; half < 2; ++half) {
        __m256i p[R];
        for (int r = 0; r < R; ++r)
          p[r] =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * row_bytes + b * 66 + 32 * half));
        // Element 128 * half + 32 * j + i of the block is bits 2j of byte i.
        for (int j = 0; j < 4; ++j) {
          __m256i c[R];
          for (int r = 0; r < R; ++r) {
            c[r] = _mm256_and_si256(p[r], mask);
            p[r] = _mm256_srli_epi16(p[r], 2);
          }
          tile_multiply_add(s, c, q + b * 256 + 128 * half + 32 * j, k);
        }
      }
      store_tile_block_sums(s, out, out_stride, nb, b);
    }
  }
};

}  // namespace

void tq2_gemm_dots_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                        int32_t* dots) {
  gemm_in_tiles<Tq2Tile>(rows, n_rows, k / 256 * 66, q, n_tokens, k, dots, k / 256);
}

namespace {

// TQ1_0 stores five trits per byte as a base-3 fraction: trit n is the top base-3 digit of byte * 3^n (mod
// 256), i.e. (p * 3) >> 8. AVX2 has no 8-bit multiply, so x3 and x9 are shifts and adds (wrapping mod 256 as
// they should), and (p * 3) >> 8 is computed with two rounding averages (ggml's trick, exact for all 256
// bytes).
inline __m256i times3_u8(__m256i x) {
  return _mm256_add_epi8(x, _mm256_add_epi8(x, x));
}
inline __m256i times9_u8(__m256i x) {
  return _mm256_add_epi8(_mm256_and_si256(_mm256_slli_epi16(x, 3), _mm256_set1_epi8(char(0xf8))), x);
}
inline __m256i top_trit_u8(__m256i p) {
  const __m256i pm = _mm256_subs_epu8(p, _mm256_set1_epi8(1));
  const __m256i c = _mm256_avg_epu8(pm, _mm256_avg_epu8(pm, _mm256_setzero_si256()));
  return _mm256_and_si256(_mm256_srli_epi16(c, 6), _mm256_set1_epi8(3));
}

}  // namespace

namespace {

inline __m256i tq1_block_acc(const uint8_t* blk, const int8_t* q) {
  auto ld = [](const void* a) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)); };
  // Elements 0-159: trit n of byte m (m < 32) is element 32n + m.
  const __m256i x = ld(blk), x3 = times3_u8(x), x9 = times9_u8(x);
  const __m256i planes[5] = {x, x3, x9, times9_u8(x3), times9_u8(x9)};
  __m256i s = _mm256_setzero_si256();  // five products of at most 2 * 128 * 2 per int16 lane: no overflow
  for (int n = 0; n < 5; ++n)
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(top_trit_u8(planes[n]), ld(q + 32 * n)));
  // Elements 160-239: trit n of byte 32 + m (m < 16) is element 160 + 16n + m. Lane 0 takes trit n, lane 1
  // trit n + 1, so each 32-byte activation load covers two trits.
  const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 32));
  const __m256i y01 = _mm256_set_m128i(_mm256_castsi256_si128(times3_u8(_mm256_castsi128_si256(y))), y);
  const __m256i y23 = times9_u8(y01), y45 = times9_u8(y23);
  s = _mm256_add_epi16(s, _mm256_maddubs_epi16(top_trit_u8(y01), ld(q + 160)));
  s = _mm256_add_epi16(s, _mm256_maddubs_epi16(top_trit_u8(y23), ld(q + 192)));
  const __m256i t4 = _mm256_and_si256(top_trit_u8(y45), _mm256_setr_epi64x(-1, -1, 0, 0));  // no trit 5
  s = _mm256_add_epi16(
      s, _mm256_maddubs_epi16(
             t4, _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 224)))));
  // Elements 240-255: trit n of byte 48 + j (j < 4) is element 240 + 4n + j.
  int32_t h;
  std::memcpy(&h, blk + 48, 4);
  const __m256i z = _mm256_set1_epi32(h), z3 = times3_u8(z);
  const __m256i zz =
      _mm256_blend_epi32(_mm256_blend_epi32(z, z3, 0x22), times9_u8(_mm256_blend_epi32(z, z3, 0x88)), 0xcc);
  const __m256i t5 = _mm256_and_si256(top_trit_u8(zz), _mm256_setr_epi64x(-1, -1, 0, 0));
  s = _mm256_add_epi16(
      s, _mm256_maddubs_epi16(
             t5, _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 240)))));
  return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
}

}  // namespace

int32_t tq1_block_dot_codes_avx2(const uint8_t* blk, const int8_t* q) {
  return hsum_epi32(tq1_block_acc(blk, q));
}

void tq1_row_dots_avx2(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots) {
  dots_in_fours(n_blocks, dots, [&](size_t b) { return tq1_block_acc(row + b * 54, q + b * 256); });
}

namespace {

// A TQ1_0 block's 256 codes, in order, as tq1_block_acc decodes them.
void tq1_decode_block_codes(const uint8_t* blk, uint8_t* codes) {
  auto st = [&](int i, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + 32 * i), v); };
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)), x3 = times3_u8(x),
                x9 = times9_u8(x);
  const __m256i planes[5] = {x, x3, x9, times9_u8(x3), times9_u8(x9)};
  for (int n = 0; n < 5; ++n) st(n, top_trit_u8(planes[n]));
  const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 32));
  const __m256i y01 = _mm256_set_m128i(_mm256_castsi256_si128(times3_u8(_mm256_castsi128_si256(y))), y);
  const __m256i y23 = times9_u8(y01), y45 = times9_u8(y23);
  st(5, top_trit_u8(y01));
  st(6, top_trit_u8(y23));
  int32_t h;
  std::memcpy(&h, blk + 48, 4);
  const __m256i z = _mm256_set1_epi32(h), z3 = times3_u8(z);
  const __m256i zz =
      _mm256_blend_epi32(_mm256_blend_epi32(z, z3, 0x22), times9_u8(_mm256_blend_epi32(z, z3, 0x88)), 0xcc);
  // Elements 224-239 (trit 4 of bytes 32-47) and 240-255 (the four trits of bytes 48-51): one vector.
  st(7, _mm256_permute2x128_si256(top_trit_u8(y45), top_trit_u8(zz), 0x20));
}

// Tq2Tile on codes already decoded to bytes (256 per block, in order): no decoding in the loop.
template <int R, int NT>
struct ByteCodesTile {
  static void run(const uint8_t* rows, size_t row_bytes, const int8_t* q, size_t k, int32_t* out,
                  size_t out_stride) {
    const size_t nb = k / 256;
    for (size_t b = 0; b < nb; ++b) {
      __m256i s[NT][R];
      zero_tile(s);
      for (int i = 0; i < 8; ++i) {  // one block adds at most 8 * 512 to an int16 lane
        __m256i c[R];
        for (int r = 0; r < R; ++r)
          c[r] =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * row_bytes + b * 256 + 32 * i));
        tile_multiply_add(s, c, q + b * 256 + 32 * i, k);
      }
      store_tile_block_sums(s, out, out_stride, nb, b);
    }
  }
};

}  // namespace

void tq1_gemm_dots_avx2(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                        int32_t* dots) {
  // Base-3 decoding costs more than the multiply-adds, so the rows are decoded once, for every token.
  thread_local std::vector<uint8_t> codes_buffer;
  std::vector<uint8_t>& codes = codes_buffer;
  const size_t nb = k / 256;
  codes.resize(n_rows * k);
  for (size_t r = 0; r < n_rows; ++r)
    for (size_t b = 0; b < nb; ++b)
      tq1_decode_block_codes(rows + (r * nb + b) * 54, codes.data() + r * k + b * 256);
  gemm_in_tiles<ByteCodesTile>(codes.data(), n_rows, k, q, n_tokens, k, dots, nb);
}

// Each token's sum of squares must be the reference's chain of float adds, in order, and one chain at a time
// waits an add's latency per element. Eight tokens' chains run side by side instead, one per lane: eight
// elements of eight tokens are loaded and transposed (a gather per element was slower); the scaling,
// elementwise, is vectorized along the token.
void rms_norm_avx2(const float* x, const float* weight, float* y, size_t T, size_t dim, float eps) {
  size_t t0 = 0;
  for (; t0 + 8 <= T; t0 += 8) {
    const float* xt = x + t0 * dim;
    __m256 ss = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= dim; i += 8) {
      __m256 r[8], t[8], u[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(xt + j * dim + i);
      for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
      }
      // u[4 h + m], 128-bit lane l: element 4 l + m of tokens 4 h .. 4 h + 3.
      for (int h = 0; h < 2; ++h) {
        u[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xee);
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
      }
      for (int m = 0; m < 4; ++m) {  // element i + m, then i + 4 + m, of all eight tokens: in order below
        r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
        r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
      }
      for (int m = 0; m < 8; ++m) ss = _mm256_add_ps(ss, _mm256_mul_ps(r[m], r[m]));
    }
    alignas(32) float sums[8];
    _mm256_store_ps(sums, ss);
    for (size_t j = 0; j < 8; ++j) {
      const float* xj = xt + j * dim;
      for (size_t e = i; e < dim; ++e) sums[j] += xj[e] * xj[e];
      const float r = 1.0f / std::sqrt(sums[j] / float(dim) + eps);
      float* yj = y + (t0 + j) * dim;
      const __m256 rv = _mm256_set1_ps(r);
      size_t e = 0;
      for (; e + 8 <= dim; e += 8)
        _mm256_storeu_ps(
            yj + e, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xj + e), rv), _mm256_loadu_ps(weight + e)));
      for (; e < dim; ++e) yj[e] = xj[e] * r * weight[e];
    }
  }
  ref::rms_norm(x + t0 * dim, weight, y + t0 * dim, T - t0, dim, eps);
}

void gated_activation_avx2(const float* gate, const float* up, float* out, size_t n, Activation act) {
  if (act != Activation::Relu2) return ref::gated_activation(gate, up, out, n, act);
  // max_ps(g, 0) returns 0 for a NaN g, like the reference's (g > 0 ? g * g : 0); then (r * r) * u as there.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 r = _mm256_max_ps(_mm256_loadu_ps(gate + i), _mm256_setzero_ps());
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(up + i)));
  }
  ref::gated_activation(gate + i, up + i, out + i, n - i, act);
}

float dot_f32_avx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  float s = hsum_ps(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

namespace {

// Eight 16-bit floats at p widened to f32: F16 through F16C, BF16 by shifting into the high half.
template <DType kType>
inline __m256 load8_half(const uint8_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kType == DType::F16)
    return _mm256_cvtph_ps(h);
  else
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// s plus the products of weights [j0, k) of a 16-bit-float row with x, one at a time in order: the tail the
// vector loops leave.
template <DType kType>
inline float add_half_tail(float s, const uint8_t* row, const float* x, size_t j0, size_t k) {
  for (size_t j = j0; j < k; ++j) {
    const uint16_t h = load_u16(row + 2 * j);
    s += (kType == DType::F16 ? _cvtsh_ss(h) : bf16_to_fp32(h)) * x[j];
  }
  return s;
}

}  // namespace

template <DType kType>
float dot_half_f32_avx2(const uint8_t* row, const float* x, size_t k) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  size_t i = 0;
  for (; i + 32 <= k; i += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(row + 2 * i + kPrefetchBytesHalf), _MM_HINT_T0);
    for (int j = 0; j < 4; ++j)
      acc[j] =
          _mm256_fmadd_ps(load8_half<kType>(row + 2 * (i + 8 * j)), _mm256_loadu_ps(x + i + 8 * j), acc[j]);
  }
  for (; i + 8 <= k; i += 8)
    acc[0] = _mm256_fmadd_ps(load8_half<kType>(row + 2 * i), _mm256_loadu_ps(x + i), acc[0]);
  const float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  return add_half_tail<kType>(s, row, x, i, k);
}
template float dot_half_f32_avx2<DType::F16>(const uint8_t*, const float*, size_t);
template float dot_half_f32_avx2<DType::BF16>(const uint8_t*, const float*, size_t);

namespace {

// NT tokens' dots with one row, 16 weights per step: two conversions, then 2 NT FMAs.
template <DType kType, int NT>
void dots_half_tokens(const uint8_t* row, const float* x, size_t k, float* out, size_t out_stride) {
  __m256 acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= k; i += 16) {
    _mm_prefetch(reinterpret_cast<const char*>(row + 2 * i + kPrefetchBytesHalf), _MM_HINT_T0);
    const __m256 w0 = load8_half<kType>(row + 2 * i), w1 = load8_half<kType>(row + 2 * i + 16);
    for (int t = 0; t < NT; ++t) {
      acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * k + i), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + t * k + i + 8), acc[t][1]);
    }
  }
  for (int t = 0; t < NT; ++t)
    out[t * out_stride] =
        add_half_tail<kType>(hsum_ps(_mm256_add_ps(acc[t][0], acc[t][1])), row, x + t * k, i, k);
}

// Two rows times four tokens, eight weights per step: two conversions, four activation loads, eight FMAs in
// eight independent chains (what two FMA pipes of latency four need). One row per call would load each
// activation for every row, from L2 once four tokens' activations outgrow L1, and that bounds the loop.
template <DType kType>
void dots_half_two_rows_four_tokens(const uint8_t* row0, const uint8_t* row1, const float* x, size_t k,
                                    float* out, size_t out_stride) {
  __m256 acc[4][2];
  for (auto& a : acc) a[0] = a[1] = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= k; i += 8) {
    _mm_prefetch(reinterpret_cast<const char*>(row0 + 2 * i + kPrefetchBytesHalf), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(row1 + 2 * i + kPrefetchBytesHalf), _MM_HINT_T0);
    const __m256 w0 = load8_half<kType>(row0 + 2 * i), w1 = load8_half<kType>(row1 + 2 * i);
    for (int t = 0; t < 4; ++t) {
      const __m256 xt = _mm256_loadu_ps(x + t * k + i);
      acc[t][0] = _mm256_fmadd_ps(w0, xt, acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, xt, acc[t][1]);
    }
  }
  for (int t = 0; t < 4; ++t) {
    out[t * out_stride] = add_half_tail<kType>(hsum_ps(acc[t][0]), row0, x + t * k, i, k);
    out[t * out_stride + 1] = add_half_tail<kType>(hsum_ps(acc[t][1]), row1, x + t * k, i, k);
  }
}

template <DType kType>
void dots_half_row(const uint8_t* row, const float* x, size_t k, size_t n_tokens, float* out,
                   size_t out_stride) {
  // Four tokens at a time keep 8 accumulators and the two weight vectors in registers.
  size_t t = 0;
  for (; t + 4 <= n_tokens; t += 4)
    dots_half_tokens<kType, 4>(row, x + t * k, k, out + t * out_stride, out_stride);
  switch (n_tokens - t) {
    case 3:
      dots_half_tokens<kType, 3>(row, x + t * k, k, out + t * out_stride, out_stride);
      break;
    case 2:
      dots_half_tokens<kType, 2>(row, x + t * k, k, out + t * out_stride, out_stride);
      break;
    case 1:
      dots_half_tokens<kType, 1>(row, x + t * k, k, out + t * out_stride, out_stride);
      break;
    default:
      break;
  }
}

}  // namespace

template <DType kType>
void dots_half_f32_avx2(const uint8_t* rows, size_t row_bytes, size_t n_rows, const float* x, size_t k,
                        size_t n_tokens, float* out, size_t out_stride) {
  size_t r = 0;
  if (n_tokens % 4 == 0)
    for (; r + 2 <= n_rows; r += 2)
      for (size_t t = 0; t < n_tokens; t += 4)
        dots_half_two_rows_four_tokens<kType>(rows + r * row_bytes, rows + (r + 1) * row_bytes, x + t * k, k,
                                              out + t * out_stride + r, out_stride);
  for (; r < n_rows; ++r) dots_half_row<kType>(rows + r * row_bytes, x, k, n_tokens, out + r, out_stride);
}
template void dots_half_f32_avx2<DType::F16>(const uint8_t*, size_t, size_t, const float*, size_t, size_t,
                                             float*, size_t);
template void dots_half_f32_avx2<DType::BF16>(const uint8_t*, size_t, size_t, const float*, size_t, size_t,
                                              float*, size_t);

namespace {

// The 32 integer weights q of a Q8_0 block (int8, after its f16 d) or a Q4_0 / Q4_1 block's nibbles (0..15,
// at qs) as four vectors of eight floats, in weight order.
inline void q8_0_block_values(const uint8_t* blk, __m256 (&q)[4]) {
  for (int c = 0; c < 4; ++c)
    q[c] = _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 2 + 8 * c))));
}
inline void q4_block_values(const uint8_t* qs, __m256 (&q)[4]) {
  // Byte j holds weight j in its low nibble and weight j + 16 in its high one. Zero-extended straight from
  // memory to 32 bits, a byte needs one mask for its low nibble and one shift (no mask) for its high one.
  const __m256i z0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs)));
  const __m256i z1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8)));
  const __m256i low = _mm256_set1_epi32(0xf);
  q[0] = _mm256_cvtepi32_ps(_mm256_and_si256(z0, low));
  q[1] = _mm256_cvtepi32_ps(_mm256_and_si256(z1, low));
  q[2] = _mm256_cvtepi32_ps(_mm256_srli_epi32(z0, 4));
  q[3] = _mm256_cvtepi32_ps(_mm256_srli_epi32(z1, 4));
}

// A Q4 block's header as (d, m, 0, 0): Q4_1 stores d and m as adjacent halves (one conversion for both), Q4_0
// only d, so its m lane is 0 (its m = -8 d is the caller's to apply).
inline __m128 q4_d_m(const uint8_t* blk, bool has_min) {
  return _mm_cvtph_ps(_mm_cvtsi32_si128(has_min ? int32_t(load_u32(blk)) : int32_t(load_u16(blk))));
}

// The 32 weights of one Q8_0 / Q4_0 / Q4_1 block as four vectors of eight floats, with the reference's values
// (Q4 computes d * q + m in one FMA rounding, which the conformance test allows for).
inline void decode_block_32(DType type, const uint8_t* blk, __m256 (&w)[4]) {
  if (type == DType::Q8_0) {
    const __m256 d = _mm256_set1_ps(load_f16(blk));
    q8_0_block_values(blk, w);
    for (auto& v : w) v = _mm256_mul_ps(d, v);
    return;
  }
  if (type == DType::Q4_ZP) {  // d * (q - z) with q - z exact in int32: the reference's values exactly
    const __m256 d = _mm256_set1_ps(load_f32(blk));
    const __m256 z = _mm256_set1_ps(float(blk[4]));
    q4_block_values(blk + 5, w);
    for (auto& v : w) v = _mm256_mul_ps(d, _mm256_sub_ps(v, z));
    return;
  }
  const bool has_min = type == DType::Q4_1;
  const __m128 dm = q4_d_m(blk, has_min);
  const __m256 d = _mm256_broadcastss_ps(dm);
  const __m256 m =
      has_min ? _mm256_broadcastss_ps(_mm_movehdup_ps(dm)) : _mm256_mul_ps(_mm256_set1_ps(-8.0f), d);
  q4_block_values(blk + (has_min ? 4 : 2), w);
  for (auto& v : w) v = _mm256_fmadd_ps(d, v, m);
}

// Blocks two at a time, each into its own accumulators: with one, updated once per block, the loop would wait
// on the FMA latency instead of the ALUs. step(b, acc, side) adds block b's terms to eight partial sums acc
// and to lane 1 of side; the result is sum(acc) + side_weight * side[1].
template <class BlockStep>
inline float sum_over_blocks(size_t n_blocks, float side_weight, BlockStep step) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  __m128 side[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
  size_t b = 0;
  for (; b + 2 <= n_blocks; b += 2) {
    step(b, acc[0], side[0]);
    step(b + 1, acc[1], side[1]);
  }
  if (b < n_blocks) step(b, acc[0], side[0]);
  const __m128 side_sum = _mm_add_ps(side[0], side[1]);
  return hsum_ps(_mm256_add_ps(acc[0], acc[1])) + side_weight * _mm_cvtss_f32(_mm_movehdup_ps(side_sum));
}

// The integer dot of one block's 32 weights (w_lo: weights 0-15, w_hi: 16-31, as int16) with its int16
// activations, in eight int32 lanes.
inline __m256i block_dot_i16(__m256i w_lo, __m256i w_hi, const int16_t* xq) {
  return _mm256_add_epi32(
      _mm256_madd_epi16(w_lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq))),
      _mm256_madd_epi16(w_hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 16))));
}

}  // namespace

void quantize_blocks_i16_avx2(const float* x, size_t k, int16_t* xq, float* block_scales) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256i ones = _mm256_set1_epi16(1);
  for (size_t b = 0; b < k / 32; ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps(), unordered = _mm256_setzero_ps();
    for (int c = 0; c < 4; ++c) {
      v[c] = _mm256_loadu_ps(x + 32 * b + 8 * c);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[c]));
      unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(v[c], v[c], _CMP_UNORD_Q));
    }
    const float a = hmax_ps(amax), inv = a > 0.0f ? 32767.0f / a : 0.0f;
    __m256i q[4];
    for (int c = 0; c < 4; ++c) q[c] = _mm256_cvtps_epi32(_mm256_mul_ps(v[c], _mm256_set1_ps(inv)));
    // packs works within 128-bit lanes; the permute puts the 16 values back in order.
    const __m256i lo = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
    const __m256i hi = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * b), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * b + 16), hi);
    const int32_t sum =
        hsum_epi32(_mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones)));
    // A NaN (max ignores it, the conversion turns it into a number) must still reach the outputs.
    const float scale = _mm256_movemask_ps(unordered) ? NAN : a / 32767.0f;
    block_scales[2 * b] = scale;
    block_scales[2 * b + 1] = scale * float(sum);
  }
}

float dot_q8_0_i16_avx2(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k) {
  return sum_over_blocks(k / 32, 0.0f, [&](size_t b, __m256& acc, __m128&) {
    const uint8_t* blk = row + b * 34;
    const __m256i w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2)));
    const __m256i w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(blk) * block_scales[2 * b]),
                          _mm256_cvtepi32_ps(block_dot_i16(w_lo, w_hi, xq + 32 * b)), acc);
  });
}

template <DType kType>
float dot_q4_i16_avx2(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k) {
  static_assert(kType == DType::Q4_0 || kType == DType::Q4_1 || kType == DType::Q4_ZP);
  const __m256i low = _mm256_set1_epi16(0xf);
  if constexpr (kType == DType::Q4_ZP) {
    // q - z fits int16 (and its products with xq vpmaddwd's int32 pair sums), so the zero point is
    // subtracted from the weights and the block is one d * s * (sum of (q - z) xq), as Q8_0's.
    return sum_over_blocks(k / 32, 0.0f, [&](size_t b, __m256& acc, __m128&) {
      const uint8_t* blk = row + b * kQ4ZPBlockBytes;
      const __m256i z = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 5)));
      const __m256i zero_point = _mm256_set1_epi16(int16_t(blk[4]));
      const __m256i w_lo = _mm256_sub_epi16(_mm256_and_si256(z, low), zero_point);
      const __m256i w_hi = _mm256_sub_epi16(_mm256_srli_epi16(z, 4), zero_point);
      acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f32(blk) * block_scales[2 * b]),
                            _mm256_cvtepi32_ps(block_dot_i16(w_lo, w_hi, xq + 32 * b)), acc);
    });
  }
  constexpr bool kHasMin = kType == DType::Q4_1;
  constexpr size_t kBlockBytes = kHasMin ? 20 : 18;
  // The m * (sum of x) terms go to lane 1 of the side sums: Q4_1's (d, m) times (s, s * sum of xq) puts
  // m * s * sum there; Q4_0's m = -8 d, so its d goes in both lanes and the -8 comes at the end.
  return sum_over_blocks(k / 32, kHasMin ? 1.0f : -8.0f, [&](size_t b, __m256& acc, __m128& side) {
    const uint8_t* blk = row + b * kBlockBytes;
    // Byte j holds weight j in its low nibble and weight j + 16 in its high one; zero-extended to 16 bits,
    // the high one needs no mask after its shift.
    const __m256i z =
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kBlockBytes - 16)));
    const __m128 dm = kHasMin ? q4_d_m(blk, true) : _mm_moveldup_ps(q4_d_m(blk, false));
    const __m128 ds = _mm_mul_ps(
        dm, _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block_scales + 2 * b))));
    side = _mm_add_ps(side, ds);
    acc = _mm256_fmadd_ps(
        _mm256_broadcastss_ps(ds),
        _mm256_cvtepi32_ps(block_dot_i16(_mm256_and_si256(z, low), _mm256_srli_epi16(z, 4), xq + 32 * b)),
        acc);
  });
}
template float dot_q4_i16_avx2<DType::Q4_0>(const uint8_t*, const int16_t*, const float*, size_t);
template float dot_q4_i16_avx2<DType::Q4_1>(const uint8_t*, const int16_t*, const float*, size_t);
template float dot_q4_i16_avx2<DType::Q4_ZP>(const uint8_t*, const int16_t*, const float*, size_t);

bool dequantize_row_avx2(DType type, const uint8_t* row, float* out, size_t k) {
  switch (type) {
    case DType::F32:
      std::memcpy(out, row, k * 4);
      return true;
    case DType::F16: {
      size_t i = 0;
      for (; i + 8 <= k; i += 8)
        _mm256_storeu_ps(out + i,
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i))));
      for (; i < k; ++i) out[i] = load_f16(row + 2 * i);
      return true;
    }
    case DType::BF16: {
      size_t i = 0;
      for (; i + 8 <= k; i += 8) {
        const __m256i w =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
        _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
      }
      for (; i < k; ++i) {
        uint16_t h;
        std::memcpy(&h, row + 2 * i, 2);
        out[i] = bf16_to_fp32(h);
      }
      return true;
    }
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q4_ZP: {
      const size_t bb = dtype_traits(type)->block_bytes;
      for (size_t b = 0; b < k / 32; ++b, row += bb, out += 32) {
        __m256 w[4];
        decode_block_32(type, row, w);
        for (int c = 0; c < 4; ++c) _mm256_storeu_ps(out + 8 * c, w[c]);
      }
      return true;
    }
    default:
      return false;
  }
}

void scaled_epilogue_avx2(const int32_t* dots, const float* scales, const int32_t* qsum, float xs,
                          size_t n_rows, size_t n_blocks, float* y) {
  size_t r = 0;
  for (; r + 8 <= n_rows; r += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < n_blocks; ++b) {
      const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dots + b * n_rows + r));
      acc = _mm256_add_ps(acc,
                          _mm256_mul_ps(_mm256_loadu_ps(scales + b * n_rows + r),
                                        _mm256_cvtepi32_ps(_mm256_sub_epi32(d, _mm256_set1_epi32(qsum[b])))));
    }
    _mm256_storeu_ps(y + r, _mm256_div_ps(acc, _mm256_set1_ps(xs)));
  }
  for (; r < n_rows; ++r) {
    float acc = 0;
    for (size_t b = 0; b < n_blocks; ++b)
      acc += scales[b * n_rows + r] * float(dots[b * n_rows + r] - qsum[b]);
    y[r] = acc / xs;
  }
}

template <size_t kBlockBytes>
void tq_block_scales_avx2(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales) {
  for (size_t r = 0; r < n_rows; ++r)
    for (size_t b = 0; b < n_blocks; ++b)
      scales[b * n_rows + r] = load_f16(rows + (r * n_blocks + b) * kBlockBytes + kBlockBytes - 2);
}
template void tq_block_scales_avx2<66>(const uint8_t*, size_t, size_t, float*);
template void tq_block_scales_avx2<54>(const uint8_t*, size_t, size_t, float*);

constinit const cpu::CpuKernels kAvx2Kernels = make_avx2_kernels();

}  // namespace tern::x86
