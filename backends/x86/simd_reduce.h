#pragma once
// Integer horizontal sums and loop drivers shared by the AVX2 and AVX-512 kernel files. Include after the
// intrinsics header. Everything here is in an unnamed namespace on purpose: each kernel file gets its own
// copy, compiled with its own ISA flags. An inline function with external linkage would be one symbol for the
// linker to pick, and an AVX-512-compiled copy could then end up in the AVX2 code.
#include <cstddef>
#include <cstdint>

namespace tern::x86 {
namespace {

inline int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// The horizontal sums of four vectors at once: two hadd rounds, then one add of the 128-bit halves.
inline __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// dots[i] = the sum of the eight int32 lanes of partial_sums(i), for i < n. Items are visited in order (rows
// or blocks in memory order: one stream for the prefetchers); only the horizontal sums are batched, four
// items per two hadd rounds, so the reduction overlaps the next items' loads instead of ending each item.
template <class PartialSums>
inline void dots_in_fours(size_t n, int32_t* dots, PartialSums partial_sums) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256i acc[4];
    for (size_t j = 0; j < 4; ++j) acc[j] = partial_sums(i + j);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dots + i), hsum4_epi32(acc[0], acc[1], acc[2], acc[3]));
  }
  for (; i < n; ++i) dots[i] = hsum_epi32(partial_sums(i));
}

// out[(t * n_blocks + b) * out_stride + r] = the horizontal sum of sums[t][r]: one block's dots of an R x NT
// tile, reduced four at a time (one hadd tree each).
template <int R, int NT>
inline void store_tile_block_dots(const __m256i (&sums)[NT][R], int32_t* out, size_t out_stride,
                                  size_t n_blocks, size_t b) {
  constexpr int kItems = R * NT;
  auto item = [&](int i) { return i < kItems ? sums[i / R][i % R] : _mm256_setzero_si256(); };
  for (int i = 0; i < kItems; i += 4) {
    alignas(16) int32_t four[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(four),
                    hsum4_epi32(item(i), item(i + 1), item(i + 2), item(i + 3)));
    for (int j = 0; j < 4 && i + j < kItems; ++j)
      out[((i + j) / R * n_blocks + b) * out_stride + (i + j) % R] = four[j];
  }
}

// A ternary prefill GEMM over register tiles of 2 rows x 4 tokens, then the ragged edges (an odd row, 1 to 3
// tokens). The output has blocks_per_row dots (one per row, or one per block) for each token and row: token
// t's block b of row r at dots[(t * blocks_per_row + b) * n_rows + r], so that the dots of consecutive rows
// are contiguous for a float epilogue across rows. Tile<R, NT>::run(rows, row_bytes, q, k, out, out_stride)
// computes one tile with that layout (out_stride = n_rows). Token groups are the outer loop: a group's
// activations (4 * k bytes) stay in L1 while the rows stream past once.
template <template <int, int> class Tile>
inline void gemm_in_tiles(const uint8_t* rows, size_t n_rows, size_t row_bytes, const int8_t* q,
                          size_t n_tokens, size_t k, int32_t* dots, size_t blocks_per_row) {
  auto token_group = [&]<int NT>(size_t t) {
    auto out = [&](size_t r) { return dots + t * blocks_per_row * n_rows + r; };
    size_t r = 0;
    for (; r + 2 <= n_rows; r += 2)
      Tile<2, NT>::run(rows + r * row_bytes, row_bytes, q + t * k, k, out(r), n_rows);
    if (r < n_rows) Tile<1, NT>::run(rows + r * row_bytes, row_bytes, q + t * k, k, out(r), n_rows);
  };
  size_t t = 0;
  for (; t + 4 <= n_tokens; t += 4) token_group.template operator()<4>(t);
  switch (n_tokens - t) {
    case 3:
      return token_group.template operator()<3>(t);
    case 2:
      return token_group.template operator()<2>(t);
    case 1:
      return token_group.template operator()<1>(t);
  }
}

}  // namespace
}  // namespace tern::x86
