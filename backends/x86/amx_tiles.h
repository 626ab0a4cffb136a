#pragma once
// The tile configuration of the AMX kernels and of their ceiling benchmark: palette 1, eight tiles of 16 rows
// x 64 bytes. For files compiled with AMX flags, after the intrinsics header; in an unnamed namespace for the
// reason simd_reduce.h gives.
#include <cstdint>

namespace tern::x86 {
namespace {

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

}  // namespace
}  // namespace tern::x86
