// Compiled with the AMX kernels' flags (CMakeLists.txt).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "amx_tiles.h"
#include "multiply_add_ceiling.h"

namespace tern::x86 {
int32_t multiply_add_ceiling_amx(size_t n_steps) {
  configure_amx_tiles();
  alignas(64) int8_t a[16 * 64];
  alignas(64) uint8_t b[16 * 64];
  for (int i = 0; i < 16 * 64; ++i) a[i] = int8_t(i % 7 - 3), b[i] = uint8_t(i % 3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, b, 64);
  _tile_loadd(7, b, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  // The AMX kernels' 2 x 2 block of accumulators, without its loads: four independent tdpbsud per step.
  for (size_t i = 0; i < n_steps; ++i) {
    _tile_dpbsud(0, 4, 6);
    _tile_dpbsud(1, 4, 7);
    _tile_dpbsud(2, 5, 6);
    _tile_dpbsud(3, 5, 7);
  }
  alignas(64) int32_t c[4][16 * 16];
  _tile_stored(0, c[0], 64);
  _tile_stored(1, c[1], 64);
  _tile_stored(2, c[2], 64);
  _tile_stored(3, c[3], 64);
  _tile_release();
  int32_t total = 0;
  for (const auto& t : c)
    for (int32_t v : t) total += v;
  return total;
}

}  // namespace tern::x86
