// TL1 packing (docs/tl1.md). The layout serves Arm's table lookups: a 16-byte load holds the 4-bit indices of
// 16 rows for two weight pairs (low nibbles the first pair, high nibbles the second), so one `tbl` per pair
// turns 16 indices into 16 rows' partial sums.
#include <cstring>

#include "tern/dtype.h"

namespace tern {
namespace {

inline int8_t trit_at(const int8_t* row, size_t k, size_t col) {
  return col < k ? row[col] : 0;
}

// The index of pair p (columns 2p, 2p + 1) of `row`: 3 (w0 + 1) + (w1 + 1), in [0, 9); 4 is two zeros.
inline uint8_t pair_index(const int8_t* row, size_t k, size_t p) {
  return uint8_t(3 * (trit_at(row, k, 2 * p) + 1) + (trit_at(row, k, 2 * p + 1) + 1));
}

}  // namespace

size_t tl1_pair_bytes(size_t k) {
  return (k + 3) / 4;
}

size_t tl1_tile_bytes(size_t k) {
  return kTL1TileRows * tl1_pair_bytes(k);
}

void tl1_pack(const int8_t* trits, size_t k, size_t n, uint8_t* out) {
  const size_t pair_bytes = tl1_pair_bytes(k), tile_bytes = tl1_tile_bytes(k);
  const size_t n_tiles = (n + kTL1TileRows - 1) / kTL1TileRows;
  for (size_t tile = 0; tile < n_tiles; ++tile)
    for (size_t r = 0; r < kTL1TileRows; ++r) {
      const size_t row = tile * kTL1TileRows + r;
      // Rows past the end are zero weights, so kernels can run whole tiles.
      const int8_t* src = row < n ? trits + row * k : nullptr;
      const size_t src_k = row < n ? k : 0;
      for (size_t q = 0; q < pair_bytes; ++q)
        out[tile * tile_bytes + q * kTL1TileRows + r] =
            uint8_t(pair_index(src, src_k, 2 * q) | pair_index(src, src_k, 2 * q + 1) << 4);
    }
}

void tl1_unpack_row(const uint8_t* data, size_t k, size_t row, int8_t* trits) {
  const uint8_t* tile = data + row / kTL1TileRows * tl1_tile_bytes(k);
  const size_t r = row % kTL1TileRows;
  for (size_t col = 0; col < k; ++col) {
    const size_t p = col / 2;
    const int index = (tile[p / 2 * kTL1TileRows + r] >> (4 * (p % 2))) & 0xf;
    trits[col] = int8_t(col % 2 == 0 ? index / 3 - 1 : index % 3 - 1);
  }
}

}  // namespace tern
