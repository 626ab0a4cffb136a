// TL2 packing (docs/tl2.md). The layout serves the lookup kernels: a 32-byte load holds the 4-bit indices of
// 32 rows for two groups (one per 128-bit lane, so each lane's vpshufb uses its own group's table), and one
// sign byte holds the sign bits of two rows for four group pairs, so a shift moves any of them to bit 7.
#include <algorithm>
#include <cstring>

#include "tern/dtype.h"

namespace tern {
namespace {

inline int8_t trit_at(const int8_t* row, size_t k, size_t col) {
  return col < k ? row[col] : 0;
}

// (index, sign) of the group starting at column 3g of `row`.
inline void encode_group(const int8_t* row, size_t k, size_t g, uint8_t& index, uint8_t& sign) {
  const int c = 9 * (trit_at(row, k, 3 * g) + 1) + 3 * (trit_at(row, k, 3 * g + 1) + 1) +
                (trit_at(row, k, 3 * g + 2) + 1);
  sign = c > 13;
  index = uint8_t(sign ? 26 - c : c);
}

}  // namespace

size_t tl2_groups(size_t k) {
  const size_t g = (k + 2) / 3;
  return (g + kTL2SuperGroups - 1) / kTL2SuperGroups * kTL2SuperGroups;
}

size_t tl2_tile_bytes(size_t k) {
  return tl2_groups(k) / kTL2SuperGroups * kTL2SuperBytes;
}

void tl2_pack(const int8_t* trits, size_t k, size_t n, uint8_t* out) {
  const size_t tile_bytes = tl2_tile_bytes(k), n_super = tl2_groups(k) / kTL2SuperGroups;
  const size_t n_tiles = (n + kTL2TileRows - 1) / kTL2TileRows;
  const int8_t zeros_row[3] = {0, 0, 0};
  std::memset(out, 0, n_tiles * tile_bytes);
  for (size_t tile = 0; tile < n_tiles; ++tile)
    for (size_t r = 0; r < kTL2TileRows; ++r) {
      const size_t row = tile * kTL2TileRows + r;
      // Rows past the end are zero weights (index 13), so kernels can run whole tiles.
      const int8_t* src = row < n ? trits + row * k : zeros_row;
      const size_t src_k = row < n ? k : 0;
      const size_t lane_byte = r % 16, nibble = r / 16;
      for (size_t s = 0; s < n_super; ++s) {
        uint8_t* sb = out + tile * tile_bytes + s * kTL2SuperBytes;
        for (size_t gi = 0; gi < kTL2SuperGroups; ++gi) {
          const size_t pair = gi / 2, lane = gi % 2;
          uint8_t index, sign;
          encode_group(src, src_k, s * kTL2SuperGroups + gi, index, sign);
          sb[32 * pair + 16 * lane + lane_byte] |= uint8_t(index << (4 * nibble));
          sb[128 + 16 * lane + lane_byte] |= uint8_t(sign << (pair + 4 * nibble));
        }
      }
    }
}

void tl2_unpack_row(const uint8_t* data, size_t k, size_t row, int8_t* trits) {
  const size_t tile_bytes = tl2_tile_bytes(k), tile = row / kTL2TileRows, r = row % kTL2TileRows;
  const size_t lane_byte = r % 16, nibble = r / 16, n_groups = (k + 2) / 3;
  for (size_t g = 0; g < n_groups; ++g) {
    const size_t s = g / kTL2SuperGroups, gi = g % kTL2SuperGroups, pair = gi / 2, lane = gi % 2;
    const uint8_t* sb = data + tile * tile_bytes + s * kTL2SuperBytes;
    const int index = (sb[32 * pair + 16 * lane + lane_byte] >> (4 * nibble)) & 0xf;
    const bool sign = (sb[128 + 16 * lane + lane_byte] >> (pair + 4 * nibble)) & 1;
    const int c = sign ? 26 - index : index;
    const int8_t w[3] = {int8_t(c / 9 - 1), int8_t(c / 3 % 3 - 1), int8_t(c % 3 - 1)};
    for (size_t j = 0; j < 3 && 3 * g + j < k; ++j) trits[3 * g + j] = w[j];
  }
}

}  // namespace tern
