// Q8_0 / Q4_0 / Q4_1 prefill on AMX-BF16 tiles (tdpbf16ps), to float accuracy. A block's integer weights q
// (int8, or nibbles 0..15) are exact in bf16; each activation is split into three bf16 terms, x = x1 + x2 +
// x3, which hold all of float's 24 bits. Products of bf16 are exact in fp32, so one block's sum of q x is
// three tile products accumulated in fp32, and the block's scales are applied after it: y += d * (sum of q x)
// + m * (sum of x), with m = 0 for Q8_0 and -8 d for Q4_0. The results differ from the reference by float
// rounding only (other summation orders), well inside the float types' conformance tolerance. Tiles: C[t][r]
// (fp32, 16 tokens x 16 rows), A[t][k] (16 tokens x 32 bf16 of one split), B (16 rows x 32 weights of one
// block, in bf16 pairs: tile row j = weights 2j, 2j + 1 of each row).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstring>

// No STL containers in this file (see x86_kernels_avx512.cpp).
#include "amx_kernels.h"
#include "amx_tiles.h"

namespace tern::x86 {
namespace {

constexpr size_t kBlock = 32;     // weights per Q block: the k of one bf16 tile product
constexpr size_t kRowBlock = 32;  // rows per job: two row tiles

thread_local AmxBuffer split_buffer, tiles_buffer, scales_buffer;

inline __m256i bits(__m256bh h) {
  __m256i v;
  std::memcpy(&v, &h, sizeof(v));
  return v;
}
inline __m512 bf16_to_f32(__m256bh h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits(h)), 16));
}

// x (T tokens of K floats) as three bf16 arrays, [split][token][k], T16 tokens each (padded with zeros), and
// the sum of each token's floats over each block ([token][block]).
void split_activations(const float* x, size_t T, size_t T16, size_t K, uint16_t* split, float* block_sums) {
  for (size_t t = 0; t < T16; ++t)
    for (size_t k0 = 0; k0 < K; k0 += 16) {
      __m512 r = t < T ? _mm512_loadu_ps(x + t * K + k0) : _mm512_setzero_ps();
      for (int s = 0; s < 3; ++s) {
        const __m256bh h = _mm512_cvtneps_pbh(r);  // round to nearest even: the remainder is exact in fp32
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(split + (s * T16 + t) * K + k0), bits(h));
        r = _mm512_sub_ps(r, bf16_to_f32(h));
      }
    }
  for (size_t t = 0; t < T; ++t)
    for (size_t b = 0; b < K / kBlock; ++b) {
      const float* xb = x + t * K + b * kBlock;
      block_sums[t * (K / kBlock) + b] =
          _mm512_reduce_add_ps(_mm512_add_ps(_mm512_loadu_ps(xb), _mm512_loadu_ps(xb + 16)));
    }
}

// Block b of a row: its 32 integer weights as bf16 (exact) in order, and its d and m.
template <DType kType>
inline __m512i block_weights_bf16(const uint8_t* blk, float* d, float* m) {
  __m512 lo, hi;  // weights 0-15, 16-31
  auto f16 = [](const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
  };
  if constexpr (kType == DType::Q8_0) {
    const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2)),
                  q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18));
    lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0));
    hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1));
    *d = f16(blk);
    *m = 0.0f;
  } else {
    constexpr size_t kCodes = kType == DType::Q4_1 ? 4 : 2;
    const __m512i z = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kCodes)));
    lo = _mm512_cvtepi32_ps(_mm512_and_si512(z, _mm512_set1_epi32(0xf)));
    hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(z, 4));
    *d = f16(blk);
    *m = kType == DType::Q4_1 ? f16(blk + 2) : -8.0f * *d;
  }
  return _mm512_inserti64x4(_mm512_castsi256_si512(bits(_mm512_cvtneps_pbh(lo))),
                            bits(_mm512_cvtneps_pbh(hi)), 1);
}

// The B tiles of rows [r0, r0 + nr) (nr <= 32: two row tiles), [row tile][block], and their d / m as
// [row tile][block][16 rows].
template <DType kType>
void decode_rows(const uint8_t* data, size_t row_bytes, size_t block_bytes, size_t r0, size_t nr, size_t nb,
                 uint8_t* tiles, float* d, float* m) {
  alignas(64) uint16_t w[16][32];
  for (size_t rt = 0; rt < 2; ++rt)
    for (size_t b = 0; b < nb; ++b) {
      float* db = d + (rt * nb + b) * 16;
      float* mb = m + (rt * nb + b) * 16;
      for (size_t n = 0; n < 16; ++n) {
        const size_t r = rt * 16 + n;
        if (r < nr) {
          _mm512_store_si512(
              w[n], block_weights_bf16<kType>(data + (r0 + r) * row_bytes + b * block_bytes, db + n, mb + n));
        } else {
          _mm512_store_si512(w[n], _mm512_setzero_si512());
          db[n] = mb[n] = 0.0f;
        }
      }
      store_vnni_tile(reinterpret_cast<const uint8_t*>(&w[0][0]), 64, tiles + (rt * nb + b) * kTileBytes);
    }
}

// Rows [r0, r0 + nr) of y for every token: 16-token tiles against the two row tiles, all blocks.
template <DType kType>
void rows_gemm(const WeightView& w, const uint16_t* split, const float* block_sums, float* y, size_t T,
               size_t T16, size_t r0, size_t nr) {
  const size_t K = w.k, N = w.n, nb = K / kBlock, row_bytes = dtype_row_bytes(kType, K);
  uint8_t* tiles = tiles_buffer.get(2 * nb * kTileBytes);
  float* dm = reinterpret_cast<float*>(scales_buffer.get(2 * 2 * nb * 16 * sizeof(float)));
  float *d = dm, *m = dm + 2 * nb * 16;
  decode_rows<kType>(w.data, row_bytes, dtype_traits(kType)->block_bytes, r0, nr, nb, tiles, d, m);
  configure_amx_tiles();
  alignas(64) float acc[16][32], c[2][16][16];
  for (size_t t0 = 0; t0 < T16; t0 += 16) {
    std::memset(acc, 0, sizeof(acc));
    for (size_t b = 0; b < nb; ++b) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_loadd(6, tiles + b * kTileBytes, 64);
      _tile_loadd(7, tiles + (nb + b) * kTileBytes, 64);
      for (int s = 0; s < 3; ++s) {  // the three splits, alternating two A tiles
        const uint16_t* a = split + (s * T16 + t0) * K + b * kBlock;
        if (s % 2 == 0) {
          _tile_loadd(4, a, K * 2);
          _tile_dpbf16ps(0, 4, 6);
          _tile_dpbf16ps(1, 4, 7);
        } else {
          _tile_loadd(5, a, K * 2);
          _tile_dpbf16ps(0, 5, 6);
          _tile_dpbf16ps(1, 5, 7);
        }
      }
      _tile_stored(0, c[0], 64);
      _tile_stored(1, c[1], 64);
      for (int rt = 0; rt < 2; ++rt) {
        const __m512 dv = _mm512_loadu_ps(d + (rt * nb + b) * 16),
                     mv = _mm512_loadu_ps(m + (rt * nb + b) * 16);
        for (size_t t = 0; t < 16 && t0 + t < T; ++t) {
          __m512 a = _mm512_load_ps(&acc[t][16 * rt]);
          a = _mm512_fmadd_ps(dv, _mm512_load_ps(c[rt][t]), a);
          if constexpr (kType != DType::Q8_0)
            a = _mm512_fmadd_ps(mv, _mm512_set1_ps(block_sums[(t0 + t) * nb + b]), a);
          _mm512_store_ps(&acc[t][16 * rt], a);
        }
      }
    }
    for (size_t t = 0; t < 16 && t0 + t < T; ++t)
      std::memcpy(y + (t0 + t) * N + r0, acc[t], nr * sizeof(float));
  }
  _tile_release();
}

template <DType kType>
void gemm_bf16_split(const WeightView& w, const float* x, float* y, size_t T, const Parallel& par) {
  const size_t K = w.k, T16 = (T + 15) / 16 * 16, nb = K / kBlock;
  // The split activations and block sums are prepared on the calling thread, for every row job.
  uint16_t* split =
      reinterpret_cast<uint16_t*>(split_buffer.get(3 * T16 * K * sizeof(uint16_t) + T * nb * sizeof(float)));
  float* block_sums = reinterpret_cast<float*>(split + 3 * T16 * K);
  split_activations(x, T, T16, K, split, block_sums);
  par.for_range((w.n + kRowBlock - 1) / kRowBlock, [&](size_t j0, size_t j1) {
    for (size_t j = j0; j < j1; ++j) {
      const size_t r0 = j * kRowBlock, nr = w.n - r0 < kRowBlock ? w.n - r0 : kRowBlock;
      rows_gemm<kType>(w, split, block_sums, y, T, T16, r0, nr);
    }
  });
}

}  // namespace

bool amx_float_gemm_takes(DType t, size_t n_tokens) {
  return (t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1) && n_tokens >= kAmxFloatMinTokens;
}

void amx_float_gemm(const WeightView& w, const float* x, float* y, size_t n_tokens, const Parallel& par) {
  switch (w.type) {
    case DType::Q8_0:
      return gemm_bf16_split<DType::Q8_0>(w, x, y, n_tokens, par);
    case DType::Q4_0:
      return gemm_bf16_split<DType::Q4_0>(w, x, y, n_tokens, par);
    case DType::Q4_1:
      return gemm_bf16_split<DType::Q4_1>(w, x, y, n_tokens, par);
    default:
      return matmul_onednn_float(w, x, y, n_tokens, par);
  }
}

}  // namespace tern::x86
