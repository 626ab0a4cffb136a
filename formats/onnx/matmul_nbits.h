#pragma once
// MatMulNBits' 4-bit layout against the one Q4_0, Q4_1 and Q4_ZP share, for the ONNX reader and writer.
// MatMulNBits: element 2i of a block in the low nibble of byte i, 2i + 1 in the high one; zero points packed
// the same way, two blocks per byte. Q4_0: byte j holds weight j (low nibble) and weight j + 16 (high).
#include <cstddef>
#include <cstdint>

namespace tern::onnx {

// One 32-weight block: MatMulNBits' 16 bytes into Q4_0's order.
inline void q4_nibbles_from_nbits(const uint8_t* nbits, uint8_t* qs) {
  auto nib = [&](size_t e) { return uint8_t((nbits[e / 2] >> (4 * (e % 2))) & 0xf); };
  for (size_t j = 0; j < 16; ++j) qs[j] = uint8_t(nib(j) | (nib(j + 16) << 4));
}

// The inverse: Q4_0's 16 bytes into MatMulNBits' order.
inline void nbits_from_q4_nibbles(const uint8_t* qs, uint8_t* nbits) {
  auto nib = [&](size_t e) { return uint8_t(e < 16 ? qs[e] & 0xf : qs[e - 16] >> 4); };
  for (size_t i = 0; i < 16; ++i) nbits[i] = uint8_t(nib(2 * i) | (nib(2 * i + 1) << 4));
}

// Block b's zero point in one row of MatMulNBits' packed zero points.
inline uint8_t nbits_zero_point(const uint8_t* row, size_t b) {
  return uint8_t((row[b / 2] >> (4 * (b % 2))) & 0xf);
}

}  // namespace tern::onnx
