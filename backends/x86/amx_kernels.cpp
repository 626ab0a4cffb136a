// AMX-INT8 prefill. Tiles: C[t][r] (int32, 16 tokens x 16 rows) += A[t][k] (int8 activations, 16 tokens x 64,
// loaded straight from the token-major activations) times B (16 rows' codes in the VNNI order tdpbsud wants:
// tile row j holds codes 4j..4j+3 of each of the 16 rows). C's layout is the driver's dots layout, so tiles
// are stored in place. B is the costly side: each call decodes its rows to bytes and transposes them into
// tiles once, then runs them against all of the call's tokens (TernaryTypeKernels::gemm_tokens).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstring>

// No STL containers in this file (see x86_kernels_avx512.cpp).
#include "amx_kernels.h"
#include "amx_tiles.h"
#include "tq1_decode_avx512.h"
#include "x86_kernels_avx512.h"

namespace tern::x86 {
namespace {

constexpr size_t kTileRows = 16;  // tokens of an A / C tile, weight rows of a B / C tile
constexpr size_t kTileK = 64;     // int8 per A row: the k-step of one tdpbsud

// Tiles (amx_tiles.h): 0-3 accumulate (C[token tile][row tile] = tile 2 t + r), 4-5 hold activations, 6-7
// codes.

thread_local AmxBuffer code_tiles, token_tail;

// 2-bit types (I2_S, TQ2_0) hold their codes in 32-byte chunks of 128 weights: element 32 m + i of a chunk is
// bits kShift[m] of byte i. Tile row j of the chunk's first k-step (elements 0-63) is then dword j % 8 of
// every row's chunk shifted by kShift[j / 8], and of its second k-step (64-127) the same dwords shifted by
// kShift[2 + j / 8]: an 8 x 8 dword transpose of the packed chunks (in both 256-bit halves at once, rows 0-7
// and 8-15) and shifts, a quarter of the shuffles of transposing decoded bytes.
template <int kShift0, int kShift1, int kShift2, int kShift3>
void store_chunk_tiles(const uint8_t* chunk, size_t row_bytes, size_t nr, uint8_t* tile0, uint8_t* tile1) {
  __m512i z[8], u[8];
  auto row = [&](size_t n) {
    return n < nr ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + n * row_bytes))
                  : _mm256_setzero_si256();
  };
  for (int m = 0; m < 8; ++m) z[m] = _mm512_inserti64x4(_mm512_castsi256_si512(row(m)), row(m + 8), 1);
  // u[4 g + c], 128-bit lane 2 h + l: dword 4 l + c of rows 8 h + 4 g .. 8 h + 4 g + 3.
  transpose_dwords_in_lanes(z, u);
  transpose_dwords_in_lanes(z + 4, u + 4);
  const __m512i lanes_l0 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0),
                lanes_l1 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2), mask = _mm512_set1_epi8(3);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 2; ++l) {
      // dword j = 4 l + c of rows 0-15, in row order
      const __m512i p = _mm512_permutex2var_epi64(u[c], l ? lanes_l1 : lanes_l0, u[4 + c]);
      const int j = 4 * l + c;
      _mm512_store_si512(tile0 + 64 * j, _mm512_and_si512(_mm512_srli_epi16(p, kShift0), mask));
      _mm512_store_si512(tile0 + 64 * (8 + j), _mm512_and_si512(_mm512_srli_epi16(p, kShift1), mask));
      _mm512_store_si512(tile1 + 64 * j, _mm512_and_si512(_mm512_srli_epi16(p, kShift2), mask));
      _mm512_store_si512(tile1 + 64 * (8 + j), _mm512_and_si512(_mm512_srli_epi16(p, kShift3), mask));
    }
}

// TQ1_0's base-3 blocks decoded to bytes first (tq1_decode_avx512.h), then transposed.
void decode_tq1_block(const uint8_t* blk, uint8_t* out) {
  const Tq1BlockCodes c = tq1_block_codes(blk);
  _mm512_store_si512(out, c.e0_63);
  _mm512_store_si512(out + 64, c.e64_127);
  _mm256_store_si256(reinterpret_cast<__m256i*>(out + 128), _mm512_castsi512_si256(c.e128_159_224_255));
  _mm512_storeu_si512(out + 160, c.e160_223);
  _mm256_store_si256(reinterpret_cast<__m256i*>(out + 224), _mm512_extracti64x4_epi64(c.e128_159_224_255, 1));
}

// B tiles of all n_rows rows, [row tile][k-step]; rows past n_rows are zero codes.
template <DType kType>
void decode_code_tiles(const uint8_t* rows, size_t n_rows, size_t k, uint8_t* tiles) {
  const size_t row_bytes = dtype_row_bytes(kType, k), k_steps = k / kTileK, row_tiles = (n_rows + 15) / 16;
  for (size_t rt = 0; rt < row_tiles; ++rt) {
    const size_t nr = n_rows - rt * 16 < 16 ? n_rows - rt * 16 : 16;
    const uint8_t* r0 = rows + rt * 16 * row_bytes;
    uint8_t* out = tiles + rt * k_steps * kTileBytes;
    if constexpr (kType == DType::I2_S) {  // 128-weight blocks of 32 bytes, bits 6 - 2m
      for (size_t b = 0; b < k / 128; ++b)
        store_chunk_tiles<6, 4, 2, 0>(r0 + b * 32, row_bytes, nr, out + 2 * b * kTileBytes,
                                      out + (2 * b + 1) * kTileBytes);
    } else if constexpr (kType == DType::TQ2_0) {  // 66-byte blocks: two chunks, bits 2m, then the scale
      for (size_t b = 0; b < k / 256; ++b)
        for (size_t c = 0; c < 2; ++c)
          store_chunk_tiles<0, 2, 4, 6>(r0 + b * 66 + 32 * c, row_bytes, nr,
                                        out + (4 * b + 2 * c) * kTileBytes,
                                        out + (4 * b + 2 * c + 1) * kTileBytes);
    } else {
      alignas(64) uint8_t unit[kTileRows][256];
      if (nr < 16) std::memset(unit[nr], 0, (16 - nr) * 256);
      for (size_t b = 0; b < k / 256; ++b) {
        for (size_t n = 0; n < nr; ++n) decode_tq1_block(r0 + n * row_bytes + b * 54, unit[n]);
        for (size_t s = 0; s < 4; ++s)
          store_vnni_tile(&unit[0][s * kTileK], 256, out + (4 * b + s) * kTileBytes);
      }
    }
  }
}

// Where a C tile of a block goes: in place when whole, else through a copy (store_partial) of its valid part.
struct DotsOut {
  int32_t* dots;
  size_t n_rows, n_tokens, n_groups;
  void store_partial(const int32_t (&c)[16][16], size_t t0, size_t r0, size_t g) const {
    const size_t nt = n_tokens - t0 < 16 ? n_tokens - t0 : 16, nr = n_rows - r0 < 16 ? n_rows - r0 : 16;
    for (size_t t = 0; t < nt; ++t) std::memcpy(dots + ((t0 + t) * n_groups + g) * n_rows + r0, c[t], nr * 4);
  }
  bool whole(size_t t0, size_t r0) const { return t0 + 16 <= n_tokens && r0 + 16 <= n_rows; }
  int32_t* at(size_t t0, size_t r0, size_t g) const { return dots + (t0 * n_groups + g) * n_rows + r0; }
  size_t stride() const { return n_groups * n_rows * 4; }
};

#define TERN_AMX_STORE(tile, t0, r0, g)                    \
  do {                                                     \
    if (out.whole(t0, r0)) {                               \
      _tile_stored(tile, out.at(t0, r0, g), out.stride()); \
    } else {                                               \
      alignas(64) int32_t c[16][16];                       \
      _tile_stored(tile, c, 64);                           \
      out.store_partial(c, t0, r0, g);                     \
    }                                                      \
  } while (0)

// NT token tiles (at a[0], a[1], rows k apart) x NR row tiles (code tiles b[0], b[1]), all groups.
template <int NT, int NR>
void run_block(const int8_t* const (&a)[2], const uint8_t* const (&b)[2], size_t k, size_t group_steps,
               const DotsOut& out, size_t t0, size_t r0) {
  const size_t n_groups = k / kTileK / group_steps;
  for (size_t g = 0; g < n_groups; ++g) {
    _tile_zero(0);
    if constexpr (NR > 1) _tile_zero(1);
    if constexpr (NT > 1) _tile_zero(2);
    if constexpr (NT > 1 && NR > 1) _tile_zero(3);
    for (size_t s = g * group_steps; s < (g + 1) * group_steps; ++s) {
      _tile_loadd(4, a[0] + s * kTileK, k);
      _tile_loadd(6, b[0] + s * kTileBytes, 64);
      _tile_dpbsud(0, 4, 6);
      if constexpr (NR > 1) {
        _tile_loadd(7, b[1] + s * kTileBytes, 64);
        _tile_dpbsud(1, 4, 7);
      }
      if constexpr (NT > 1) {
        _tile_loadd(5, a[1] + s * kTileK, k);
        _tile_dpbsud(2, 5, 6);
        if constexpr (NR > 1) _tile_dpbsud(3, 5, 7);
      }
    }
    TERN_AMX_STORE(0, t0, r0, g);
    if constexpr (NR > 1) TERN_AMX_STORE(1, t0, r0 + 16, g);
    if constexpr (NT > 1) TERN_AMX_STORE(2, t0 + 16, r0, g);
    if constexpr (NT > 1 && NR > 1) TERN_AMX_STORE(3, t0 + 16, r0 + 16, g);
  }
}
#undef TERN_AMX_STORE

// Fewer tokens than this leave too much of each tile empty to pay for decoding the rows into tiles: they run
// on the VNNI kernels (bench_x86_kernels BM_MatmulAmx vs BM_MatmulAvx512Vnni at 4, 8 and 16 tokens).
constexpr size_t kAmxMinTokens = 8;

template <DType kType>
void gemm_amx(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k, int32_t* dots) {
  if (n_tokens < kAmxMinTokens)
    return kAvx512VnniKernels.ternary_for(kType).gemm(rows, n_rows, q, n_tokens, k, dots);
  const size_t k_steps = k / kTileK, row_tiles = (n_rows + 15) / 16;
  const size_t group_steps = kType == DType::I2_S ? k_steps : 256 / kTileK;
  uint8_t* tiles = code_tiles.get(row_tiles * k_steps * kTileBytes);
  decode_code_tiles<kType>(rows, n_rows, k, tiles);
  // The last token tile, when partial, runs from a copy padded with zero tokens (a tile load reads 16 rows).
  const size_t full_tokens = n_tokens / 16 * 16;
  int8_t* tail = nullptr;
  if (full_tokens < n_tokens) {
    tail = reinterpret_cast<int8_t*>(token_tail.get(16 * k));
    std::memcpy(tail, q + full_tokens * k, (n_tokens - full_tokens) * k);
    std::memset(tail + (n_tokens - full_tokens) * k, 0, (16 - (n_tokens - full_tokens)) * k);
  }
  auto tokens_at = [&](size_t t0) { return t0 < full_tokens ? q + t0 * k : tail; };
  const DotsOut out{dots, n_rows, n_tokens, k_steps / group_steps};
  configure_amx_tiles();
  for (size_t t0 = 0; t0 < n_tokens; t0 += 32) {
    const bool two_t = t0 + 16 < n_tokens;
    const int8_t* const a[2] = {tokens_at(t0), two_t ? tokens_at(t0 + 16) : nullptr};
    for (size_t rt = 0; rt < row_tiles; rt += 2) {
      const bool two_r = rt + 1 < row_tiles;
      const uint8_t* const b[2] = {tiles + rt * k_steps * kTileBytes,
                                   two_r ? tiles + (rt + 1) * k_steps * kTileBytes : nullptr};
      if (two_t && two_r)
        run_block<2, 2>(a, b, k, group_steps, out, t0, rt * 16);
      else if (two_t)
        run_block<2, 1>(a, b, k, group_steps, out, t0, rt * 16);
      else if (two_r)
        run_block<1, 2>(a, b, k, group_steps, out, t0, rt * 16);
      else
        run_block<1, 1>(a, b, k, group_steps, out, t0, rt * 16);
    }
  }
  _tile_release();
}

}  // namespace

void i2s_gemm_codes_amx(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                        int32_t* dots) {
  gemm_amx<DType::I2_S>(rows, n_rows, q, n_tokens, k, dots);
}
void tq2_gemm_dots_amx(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                       int32_t* dots) {
  gemm_amx<DType::TQ2_0>(rows, n_rows, q, n_tokens, k, dots);
}
void tq1_gemm_dots_amx(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                       int32_t* dots) {
  gemm_amx<DType::TQ1_0>(rows, n_rows, q, n_tokens, k, dots);
}

namespace {
// Tokens per call: the decoded tiles of a call's rows (64 I2_S rows, 32 TQ rows) serve this many tokens.
constexpr size_t kAmxGemmTokens = 128;

cpu::CpuKernels make_amx_kernels() {
  cpu::CpuKernels k = kAvx512VnniKernels;
  k.ternary_for(DType::I2_S).gemm = i2s_gemm_codes_amx;
  k.ternary_for(DType::TQ2_0).gemm = tq2_gemm_dots_amx;
  k.ternary_for(DType::TQ1_0).gemm = tq1_gemm_dots_amx;
  for (DType t : {DType::I2_S, DType::TQ2_0, DType::TQ1_0}) k.ternary_for(t).gemm_tokens = kAmxGemmTokens;
  k.external_gemm.prefers = [](DType t, size_t n) {
    return amx_float_gemm_takes(t, n) || onednn_prefers_by_env(t, n);
  };
  k.external_gemm.float_gemm = amx_float_gemm;
  return k;
}
}  // namespace

// kAvx512VnniKernels is constant-initialized, so reading it here during dynamic initialization is safe.
const cpu::CpuKernels kAmxKernels = make_amx_kernels();

}  // namespace tern::x86
