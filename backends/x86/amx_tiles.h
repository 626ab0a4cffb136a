#pragma once
// What the AMX kernels (amx_kernels.cpp, amx_float_gemm.cpp) and their ceiling benchmark share: the tile
// configuration (palette 1, eight tiles of 16 rows x 64 bytes), a thread's reusable buffer, and the dword
// transposes that turn 16 rows into a B tile. For files compiled with AVX-512 and AMX flags, after the
// intrinsics header; in an unnamed namespace for the reason simd_reduce.h gives.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace tern::x86 {
namespace {

inline constexpr size_t kTileBytes = 1024;  // one tile: 16 rows of 64 bytes

struct alignas(64) AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Loads the configuration on this thread: per call, since other code on the thread (oneDNN) may load its own.
inline void configure_amx_tiles() {
  AmxTileConfig c;
  for (int i = 0; i < 8; ++i) {
    c.colsb[i] = 64;
    c.rows[i] = 16;
  }
  _tile_loadconfig(&c);
}

// A thread's reusable buffer (pool threads run many calls), 64-byte aligned. Not a std::vector: no STL
// containers in AVX-512 files (see x86_kernels_avx512.cpp).
struct AmxBuffer {
  uint8_t* p = nullptr;
  size_t n = 0;
  ~AmxBuffer() { std::free(p); }
  uint8_t* get(size_t bytes) {
    if (bytes > n) {
      std::free(p);
      n = 0;
      p = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
      if (!p) throw std::bad_alloc();
      n = bytes;
    }
    return p;
  }
};

// Rows r[0..3] -> u[0..3], 128-bit lane l of u[c]: dword 4 l + c of rows 0-3 (a 4 x 4 dword transpose in
// each lane). The first two stages of the transposes.
inline void transpose_dwords_in_lanes(const __m512i* r, __m512i* u) {
  const __m512i t0 = _mm512_unpacklo_epi32(r[0], r[1]), t1 = _mm512_unpackhi_epi32(r[0], r[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(r[2], r[3]), t3 = _mm512_unpackhi_epi32(r[2], r[3]);
  u[0] = _mm512_unpacklo_epi64(t0, t2);
  u[1] = _mm512_unpackhi_epi64(t0, t2);
  u[2] = _mm512_unpacklo_epi64(t1, t3);
  u[3] = _mm512_unpackhi_epi64(t1, t3);
}

// A 16 x 64-byte block (row n at src + n * stride, 64-byte aligned) as a B tile: tile row j = dword j of
// every row (4 int8 codes, or 2 bf16 weights), a 16 x 16 transpose of dwords (within 128-bit lanes, then of
// the lanes).
inline void store_vnni_tile(const uint8_t* codes, size_t stride, uint8_t* tile) {
  __m512i r[16], u[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_load_si512(codes + i * stride);
  // u[4 g + c], lane l: dword 4 l + c of rows 4g .. 4g + 3.
  for (int g = 0; g < 4; ++g) transpose_dwords_in_lanes(r + 4 * g, u + 4 * g);
  // Tile row 4 l + c takes lane l of u[c], u[4 + c], u[8 + c], u[12 + c].
  for (int c = 0; c < 4; ++c) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44),
                  v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44),
                  v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
    _mm512_store_si512(tile + 64 * c, _mm512_shuffle_i32x4(v0, v2, 0x88));
    _mm512_store_si512(tile + 64 * (4 + c), _mm512_shuffle_i32x4(v0, v2, 0xdd));
    _mm512_store_si512(tile + 64 * (8 + c), _mm512_shuffle_i32x4(v1, v3, 0x88));
    _mm512_store_si512(tile + 64 * (12 + c), _mm512_shuffle_i32x4(v1, v3, 0xdd));
  }
}

}  // namespace
}  // namespace tern::x86
