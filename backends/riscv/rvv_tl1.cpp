// TL1 lookup kernels for RVV 1.0 (docs/tl1.md), vrgather as the table lookup, vector-length agnostic.
//
// A TL1 tile stores, at byte 16 q + i, the indices of pairs 2q (low nibble) and 2q + 1 (high nibble) of tile
// row i. A vector of VL bytes from 16 q on is therefore VL / 16 lane groups, group j holding pair byte q + j
// of all 16 rows. Each pair's table is 16 int16 sums (nine used): the plugin's own table layout puts the
// tables of the even pairs 0, 2, 4, ... one after another, then those of the odd pairs, so one unit-stride
// load of VL int16 brings the tables of pairs 2 (q + j) for every lane group j (or 2 (q + j) + 1). Adding 16
// j to a lane's nibble makes vrgather read its own group's table, and one vrgather looks up VL rows' exact
// partial sums. int16 lanes are flushed into int32 before they can overflow; at the end the lane groups are
// folded onto the tile's 16 rows. Exact, so outputs are bit-identical to the reference.
#include <riscv_vector.h>

#include <algorithm>

#include "rvv_kernels.h"
#include "tern/dtype.h"

namespace tern::rvv {
namespace {

constexpr size_t kTableEntries = 16;
// A lane gains two lookups of at most 256 in magnitude per vector: flushed after this many vectors, well
// inside int16.
constexpr size_t kVectorsPerFlush = 60;

// Lane i's table offset: 16 (i / 16), the first entry of its group's table.
inline vuint16m2_t group_offsets(size_t vl) {
  return __riscv_vand_vx_u16m2(__riscv_vid_v_u16m2(vl), uint16_t(~(kTableEntries - 1)), vl);
}

inline void flush(vint16m2_t& acc, vint32m4_t& total, size_t vlmax) {
  total = __riscv_vwadd_wv_i32m4(total, acc, vlmax);
  acc = __riscv_vmv_v_x_i16m2(0, vlmax);
}

// Sums the lane groups of total (vlmax lanes, a power of two >= 16) onto 16 rows.
inline void fold_groups(vint32m4_t total, size_t vlmax, int32_t* out) {
  for (size_t n = vlmax; n > kTL1TileRows; n /= 2)
    total = __riscv_vadd_vv_i32m4(total, __riscv_vslidedown_vx_i32m4(total, n / 2, n / 2), n / 2);
  __riscv_vse32_v_i32m4(out, total, kTL1TileRows);
}

// Dots of one tile's 16 rows with NT (1 or 2) tokens' tables, which share the index decoding.
template <int NT>
void tile_dot_tokens(const uint8_t* tile, const int16_t* const (&lut)[NT], size_t pair_bytes, int32_t* out) {
  const size_t vlmax = __riscv_vsetvlmax_e16m2();
  const vuint16m2_t offsets = group_offsets(vlmax);
  vint16m2_t acc0 = __riscv_vmv_v_x_i16m2(0, vlmax), acc1 = acc0;
  vint32m4_t total0 = __riscv_vmv_v_x_i32m4(0, vlmax), total1 = total0;
  const size_t odd = pair_bytes * kTableEntries;  // the odd pairs' tables
  // Adds the lookups of vl lanes (whole lane groups) from pair byte q on. Full vectors use the tail-agnostic
  // policy; the last, shorter one is tail-undisturbed, leaving the other groups' partial sums alone.
  auto step = [&]<bool kTail>(size_t q, size_t vl) {
    const vuint16m2_t codes = __riscv_vzext_vf2_u16m2(__riscv_vle8_v_u8m1(tile + kTL1TileRows * q, vl), vl);
    const vuint16m2_t even_idx = __riscv_vor_vv_u16m2(__riscv_vand_vx_u16m2(codes, 15, vl), offsets, vl);
    const vuint16m2_t odd_idx = __riscv_vor_vv_u16m2(__riscv_vsrl_vx_u16m2(codes, 4, vl), offsets, vl);
    const size_t at = kTableEntries * q;
    auto lookup = [&](const int16_t* l, vint16m2_t& acc) {
      const vint16m2_t even = __riscv_vrgather_vv_i16m2(__riscv_vle16_v_i16m2(l + at, vl), even_idx, vl);
      const vint16m2_t odd_sums =
          __riscv_vrgather_vv_i16m2(__riscv_vle16_v_i16m2(l + odd + at, vl), odd_idx, vl);
      const vint16m2_t sums = __riscv_vadd_vv_i16m2(even, odd_sums, vl);
      acc = kTail ? __riscv_vadd_vv_i16m2_tu(acc, acc, sums, vl) : __riscv_vadd_vv_i16m2(acc, sums, vl);
    };
    lookup(lut[0], acc0);
    if constexpr (NT == 2) lookup(lut[1], acc1);
  };
  const size_t groups = vlmax / kTL1TileRows;  // vlmax is a power of two >= 16
  size_t q = 0, vectors = 0;
  for (; q + groups <= pair_bytes; q += groups) {
    step.template operator()<false>(q, vlmax);
    if (++vectors == kVectorsPerFlush) {
      flush(acc0, total0, vlmax);
      if constexpr (NT == 2) flush(acc1, total1, vlmax);
      vectors = 0;
    }
  }
  if (q < pair_bytes) step.template operator()<true>(q, kTL1TileRows * (pair_bytes - q));
  flush(acc0, total0, vlmax);
  fold_groups(total0, vlmax, out);
  if constexpr (NT == 2) {
    flush(acc1, total1, vlmax);
    fold_groups(total1, vlmax, out + kTL1TileRows);
  }
}

}  // namespace

size_t tl1_lut_bytes_rvv(size_t k) {
  return 2 * tl1_pair_bytes(k) * kTableEntries * sizeof(int16_t);
}
size_t tl1_lut_units_rvv(size_t k) {
  return tl1_pair_bytes(k);
}

void tl1_build_lut_rvv(const int8_t* q, size_t k, size_t unit0, size_t unit1, uint8_t* lut) {
  // Entry c of a table is a0 w0 + a1 w1 with w0 = c / 3 - 1, w1 = c % 3 - 1 for c < 9, zero past them.
  static constexpr int16_t kW0[kTableEntries] = {-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
  static constexpr int16_t kW1[kTableEntries] = {-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  const size_t vl = __riscv_vsetvl_e16m2(kTableEntries);  // VLEN >= 128: always all 16
  const vint16m2_t w0 = __riscv_vle16_v_i16m2(kW0, vl), w1 = __riscv_vle16_v_i16m2(kW1, vl);
  auto* tables = reinterpret_cast<int16_t*>(lut);
  const size_t pair_bytes = tl1_pair_bytes(k);
  auto act = [&](size_t col) { return col < k ? int16_t(q[col]) : int16_t(0); };
  for (size_t u = unit0; u < unit1; ++u)
    for (size_t half = 0; half < 2; ++half) {
      const size_t pair = 2 * u + half;
      const vint16m2_t sums =
          __riscv_vmacc_vx_i16m2(__riscv_vmul_vx_i16m2(w0, act(2 * pair), vl), act(2 * pair + 1), w1, vl);
      __riscv_vse16_v_i16m2(tables + (half * pair_bytes + u) * kTableEntries, sums, vl);
    }
}

void tl1_tile_dot_rvv(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens, size_t k,
                      int32_t* out) {
  const size_t pair_bytes = tl1_pair_bytes(k);
  auto table = [&](size_t t) { return reinterpret_cast<const int16_t*>(lut + t * lut_stride); };
  size_t t = 0;
  for (; t + 2 <= n_tokens; t += 2) {
    const int16_t* const tables[2] = {table(t), table(t + 1)};
    tile_dot_tokens<2>(tile, tables, pair_bytes, out + kTL1TileRows * t);
  }
  if (t < n_tokens) {
    const int16_t* const tables[1] = {table(t)};
    tile_dot_tokens<1>(tile, tables, pair_bytes, out + kTL1TileRows * t);
  }
}

}  // namespace tern::rvv
