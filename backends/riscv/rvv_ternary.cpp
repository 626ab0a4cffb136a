// Ternary kernels for RVV 1.0, compiled with -march=rv64gcv, vector-length agnostic.
//
// The packed codes are never unpacked into memory. Each type packs F codes per byte (I2_S / TQ2_0: four 2-bit
// fields, TQ1_0: five base-3 digits), and code field f of byte m belongs to one weight. So the activations
// are rearranged once per call into F "planes" in the bytes' order: plane f holds, at byte m, the activation
// of the weight in field f of byte m. Then a dot is, for every vector of packed bytes, F field extractions
// and F widening multiply-adds against unit-stride plane loads, at whatever vector length the hardware has.
// The rearrangement is k bytes per token per call, against n_rows * k / 4 bytes of weights.
#include <riscv_vector.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "rvv_common.h"
#include "rvv_kernels.h"
#include "tern/dtype.h"

namespace tern::rvv {
namespace {

// I2_S: a 128-weight block is 32 bytes; field f (bits 7-2f..6-2f) of byte i is weight 32 f + i. Rows are
// whole runs of blocks, so a row is one contiguous run of codes.
struct I2sLayout {
  static constexpr int kFields = 4;
  static constexpr size_t kBlockWeights = 128, kBlockBytes = 32, kCodeBytes = 32;
  template <int F>
  static vuint8m1_t field(vuint8m1_t p, size_t vl) {
    if constexpr (F == 0) return __riscv_vsrl_vx_u8m1(p, 6, vl);
    if constexpr (F == 3) return __riscv_vand_vx_u8m1(p, 3, vl);
    return __riscv_vand_vx_u8m1(__riscv_vsrl_vx_u8m1(p, 6 - 2 * F, vl), 3, vl);
  }
  static void block_planes(const int8_t* q, int8_t* const* plane, size_t at) {
    for (int f = 0; f < kFields; ++f) std::memcpy(plane[f] + at, q + 32 * f, 32);
  }
};

// TQ2_0: 64 bytes of codes then the f16 scale; in each 32-byte half h, field f (bits 2f..2f+1) of byte m is
// weight 128 h + 32 f + m.
struct Tq2Layout {
  static constexpr int kFields = 4;
  static constexpr size_t kBlockWeights = 256, kBlockBytes = 66, kCodeBytes = 64;
  template <int F>
  static vuint8m1_t field(vuint8m1_t p, size_t vl) {
    if constexpr (F == 0) return __riscv_vand_vx_u8m1(p, 3, vl);
    if constexpr (F == 3) return __riscv_vsrl_vx_u8m1(p, 6, vl);
    return __riscv_vand_vx_u8m1(__riscv_vsrl_vx_u8m1(p, 2 * F, vl), 3, vl);
  }
  static void block_planes(const int8_t* q, int8_t* const* plane, size_t at) {
    for (int h = 0; h < 2; ++h)
      for (int f = 0; f < kFields; ++f) std::memcpy(plane[f] + at + 32 * h, q + 128 * h + 32 * f, 32);
  }
};

// TQ1_0: five trits per byte as a base-3 fraction, trit n of byte p being the top base-3 digit of p * 3^n
// (mod 256): (p * 3^n mod 256) * 3 >> 8, one vmul and one vmulhu. 48 bytes of five trits (the first 32 give
// weights 32 n + m, the next 16 weights 160 + 16 n + m), 4 bytes of four trits (weights 240 + 4 n + j), then
// the f16 scale. The four-trit bytes' fifth digit is meaningless: its plane holds zeros there.
struct Tq1Layout {
  static constexpr int kFields = 5;
  static constexpr size_t kBlockWeights = 256, kBlockBytes = 54, kCodeBytes = 52;
  template <int F>
  static vuint8m1_t field(vuint8m1_t p, size_t vl) {
    constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    if constexpr (F != 0) p = __riscv_vmul_vx_u8m1(p, kPow3[F], vl);
    return __riscv_vmulhu_vx_u8m1(p, 3, vl);
  }
  static void block_planes(const int8_t* q, int8_t* const* plane, size_t at) {
    for (int n = 0; n < kFields; ++n) {
      std::memcpy(plane[n] + at, q + 32 * n, 32);
      std::memcpy(plane[n] + at + 32, q + 160 + 16 * n, 16);
      if (n < 4)
        std::memcpy(plane[n] + at + 48, q + 240 + 4 * n, 4);
      else
        std::memset(plane[n] + at + 48, 0, 4);
    }
  }
};

// The planes of n_tokens tokens: token t's plane f starts at planes + (t * F + f) * plane_bytes.
template <class L>
const int8_t* build_planes(const int8_t* q, size_t n_tokens, size_t k, size_t& plane_bytes) {
  const size_t nb = k / L::kBlockWeights;
  plane_bytes = nb * L::kCodeBytes;
  thread_local std::vector<int8_t> buffer;
  buffer.resize(n_tokens * L::kFields * plane_bytes);
  for (size_t t = 0; t < n_tokens; ++t) {
    int8_t* plane[L::kFields];
    for (int f = 0; f < L::kFields; ++f) plane[f] = buffer.data() + (t * L::kFields + f) * plane_bytes;
    for (size_t b = 0; b < nb; ++b)
      L::block_planes(q + t * k + b * L::kBlockWeights, plane, b * L::kCodeBytes);
  }
  return buffer.data();
}

// Flushing the int16 lanes every 16 vectors keeps them exact: each lane gains at most F (<= 5) products of a
// code (0..2) and an int8 per vector, |16 * 5 * 256| < 2^15.
constexpr int kFlushVectors = 16;

// RVV registers are sizeless (no arrays of them), so the two tile shapes are spelled out. Both run, for every
// vector of packed bytes, each field f through every (row, token) accumulator. Full vectors accumulate with
// the tail-agnostic policy (a tail-undisturbed multiply-add would need a vsetvli around every one), flushed
// into out every kFlushVectors vectors; the last, partial vector gets fresh accumulators reduced over its
// own lanes.
template <class L, class Body>
void for_each_field(Body&& body) {
  [&]<int... F>(std::integer_sequence<int, F...>) {
    (body(std::integral_constant<int, F>{}), ...);
  }
  (std::make_integer_sequence<int, L::kFields>{});
}

inline vint16m2_t zeros(size_t vl) {
  return __riscv_vmv_v_x_i16m2(0, vl);
}
inline int32_t reduce(vint16m2_t acc, size_t vl) {
  return __riscv_vmv_x_s_i32m1_i32(__riscv_vwredsum_vs_i16m2_i32m1(acc, __riscv_vmv_s_x_i32m1(0, 1), vl));
}

// Runs step(i, vl, accumulators...) over n bytes and adds the accumulators' sums to sums[...] (one per
// accumulator, in order), with the flushing described above.
template <class Step>
void accumulate_over(size_t n, Step&& step, int32_t* sums) {
  const size_t vlmax = __riscv_vsetvlmax_e8m1();
  size_t i = 0;
  auto run = [&](size_t vl, auto&&... acc) {
    int vectors = 0;
    for (; i + vl <= n; i += vl) {
      step(i, vl, acc...);
      if (++vectors == kFlushVectors) {
        int j = 0;
        ((sums[j++] += reduce(acc, vl), acc = zeros(vl)), ...);
        vectors = 0;
      }
    }
    if (vectors) {
      int j = 0;
      ((sums[j++] += reduce(acc, vl)), ...);
    }
  };
  auto tail = [&](size_t vl, auto&&... acc) {
    step(i, vl, acc...);
    int j = 0;
    ((sums[j++] += reduce(acc, vl)), ...);
  };
  vint16m2_t a0 = zeros(vlmax), a1 = a0, a2 = a0, a3 = a0;
  run(vlmax, a0, a1, a2, a3);
  if (i < n) {
    const size_t vl = __riscv_vsetvl_e8m1(n - i);
    vint16m2_t t0 = zeros(vl), t1 = t0, t2 = t0, t3 = t0;
    tail(vl, t0, t1, t2, t3);
  }
}

// Decode: four rows, one token. out[0][r] = the dot of n packed bytes of rows[r] with the token's planes.
template <class L>
void tile_4x1(const uint8_t* const* rows, const int8_t* const* planes, size_t plane_bytes, size_t n,
              int32_t (&out)[1][4]) {
  auto step = [&](size_t i, size_t vl, vint16m2_t& a0, vint16m2_t& a1, vint16m2_t& a2, vint16m2_t& a3) {
    const vuint8m1_t p0 = __riscv_vle8_v_u8m1(rows[0] + i, vl), p1 = __riscv_vle8_v_u8m1(rows[1] + i, vl),
                     p2 = __riscv_vle8_v_u8m1(rows[2] + i, vl), p3 = __riscv_vle8_v_u8m1(rows[3] + i, vl);
    for_each_field<L>([&](auto f) {
      const vint8m1_t x = __riscv_vle8_v_i8m1(planes[0] + f * plane_bytes + i, vl);
      auto code = [&](vuint8m1_t p) { return __riscv_vreinterpret_v_u8m1_i8m1(L::template field<f>(p, vl)); };
      a0 = __riscv_vwmacc_vv_i16m2(a0, code(p0), x, vl);
      a1 = __riscv_vwmacc_vv_i16m2(a1, code(p1), x, vl);
      a2 = __riscv_vwmacc_vv_i16m2(a2, code(p2), x, vl);
      a3 = __riscv_vwmacc_vv_i16m2(a3, code(p3), x, vl);
    });
  };
  accumulate_over(n, step, out[0]);
}

// Prefill: two rows by two tokens; each code extracted once serves both tokens.
template <class L>
void tile_2x2(const uint8_t* const* rows, const int8_t* const* planes, size_t plane_bytes, size_t n,
              int32_t (&out)[2][2]) {
  auto step = [&](size_t i, size_t vl, vint16m2_t& a00, vint16m2_t& a01, vint16m2_t& a10, vint16m2_t& a11) {
    const vuint8m1_t p0 = __riscv_vle8_v_u8m1(rows[0] + i, vl), p1 = __riscv_vle8_v_u8m1(rows[1] + i, vl);
    for_each_field<L>([&](auto f) {
      const vint8m1_t x0 = __riscv_vle8_v_i8m1(planes[0] + f * plane_bytes + i, vl);
      const vint8m1_t x1 = __riscv_vle8_v_i8m1(planes[1] + f * plane_bytes + i, vl);
      const vint8m1_t c0 = __riscv_vreinterpret_v_u8m1_i8m1(L::template field<f>(p0, vl));
      const vint8m1_t c1 = __riscv_vreinterpret_v_u8m1_i8m1(L::template field<f>(p1, vl));
      a00 = __riscv_vwmacc_vv_i16m2(a00, c0, x0, vl);
      a01 = __riscv_vwmacc_vv_i16m2(a01, c1, x0, vl);
      a10 = __riscv_vwmacc_vv_i16m2(a10, c0, x1, vl);
      a11 = __riscv_vwmacc_vv_i16m2(a11, c1, x1, vl);
    });
  };
  int32_t sums[4] = {};
  accumulate_over(n, step, sums);
  out[0][0] += sums[0];
  out[0][1] += sums[1];
  out[1][0] += sums[2];
  out[1][1] += sums[3];
}

template <class L, int R, int T>
struct Tile;
template <class L>
struct Tile<L, 4, 1> {
  static constexpr auto run = tile_4x1<L>;
};
template <class L>
struct Tile<L, 2, 2> {
  static constexpr auto run = tile_2x2<L>;
};

// dots[(t * n_groups + g) * n_rows + r] for every row, token and scale group (I2_S: the row; TQ: a block),
// R rows x T tokens at a time; a missing row or token repeats the last one and its dots are dropped.
template <class L, int R, int T>
void ternary_dots(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots) {
  size_t plane_bytes = 0;
  const int8_t* planes = build_planes<L>(q, n_tokens, k, plane_bytes);
  const size_t nb = k / L::kBlockWeights, row_bytes = nb * L::kBlockBytes;
  constexpr bool kWholeRow = L::kBlockBytes == L::kCodeBytes;  // I2_S: one group, one run of codes
  const size_t ng = kWholeRow ? 1 : nb, group_bytes = kWholeRow ? row_bytes : L::kCodeBytes;
  for (size_t r0 = 0; r0 < n_rows; r0 += R) {
    const size_t nr = std::min<size_t>(R, n_rows - r0);
    for (size_t t0 = 0; t0 < n_tokens; t0 += T) {
      const size_t nt = std::min<size_t>(T, n_tokens - t0);
      for (size_t g = 0; g < ng; ++g) {
        const uint8_t* row[R];
        const int8_t* plane[T];
        for (int r = 0; r < R; ++r)
          row[r] = rows + (r0 + std::min<size_t>(r, nr - 1)) * row_bytes + g * L::kBlockBytes;
        for (int t = 0; t < T; ++t)
          plane[t] =
              planes + (t0 + std::min<size_t>(t, nt - 1)) * L::kFields * plane_bytes + g * L::kCodeBytes;
        int32_t out[T][R] = {};
        Tile<L, R, T>::run(row, plane, plane_bytes, group_bytes, out);
        for (size_t t = 0; t < nt; ++t)
          for (size_t r = 0; r < nr; ++r) dots[((t0 + t) * ng + g) * n_rows + r0 + r] = out[t][r];
      }
    }
  }
}

// Decode shares each plane load among four rows; prefill tiles are two rows by two tokens.
constexpr int kGemvRows = 4, kGemmRows = 2, kGemmTokens = 2;

}  // namespace

float quantize_activations_rvv(const float* x, int8_t* q, size_t k) {
  const size_t vlmax = __riscv_vsetvlmax_e32m4();
  vfloat32m4_t amax = __riscv_vfmv_v_f_f32m4(0.0f, vlmax);
  for (size_t i = 0; i < k;) {
    const size_t vl = __riscv_vsetvl_e32m4(k - i);
    amax = __riscv_vfmax_vv_f32m4_tu(amax, amax, __riscv_vfabs_v_f32m4(__riscv_vle32_v_f32m4(x + i, vl), vl),
                                     vl);
    i += vl;
  }
  const float a = __riscv_vfmv_f_s_f32m1_f32(
      __riscv_vfredmax_vs_f32m4_f32m1(amax, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax));
  const float scale = 127.0f / std::max(a, 1e-5f);
  for (size_t i = 0; i < k;) {
    const size_t vl = __riscv_vsetvl_e32m4(k - i);
    const vfloat32m4_t v = __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(x + i, vl), scale, vl);
    // Rounded in the conversion, then clamped in integers: the same as clamping the rounded float first.
    vint32m4_t r = __riscv_vfcvt_x_f_v_i32m4_rm(v, __RISCV_FRM_RMM, vl);
    r = __riscv_vmax_vx_i32m4(__riscv_vmin_vx_i32m4(r, 127, vl), -128, vl);
    __riscv_vse8_v_i8m1(q + i, __riscv_vncvt_x_x_w_i8m1(__riscv_vncvt_x_x_w_i16m2(r, vl), vl), vl);
    i += vl;
  }
  return scale;
}

int32_t sum_i8_rvv(const int8_t* q, size_t n) {
  int32_t s = 0;
  const vint16m1_t zero = __riscv_vmv_s_x_i16m1(0, 1);
  // A widening reduction per 128 values at most: their int16 sum cannot overflow.
  for (size_t i = 0; i < n;) {
    const size_t vl = __riscv_vsetvl_e8m4(std::min<size_t>(n - i, 128));
    s += __riscv_vmv_x_s_i16m1_i16(__riscv_vwredsum_vs_i8m4_i16m1(__riscv_vle8_v_i8m4(q + i, vl), zero, vl));
    i += vl;
  }
  return s;
}

namespace {

// TQ rows' f16 block scales (the last two bytes of each block) into [block][row] order: one strided load per
// row, converted exactly, and one strided store.
template <size_t kBlockBytes>
void tq_block_scales(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales) {
  for (size_t r = 0; r < n_rows; ++r)
    for (size_t b = 0; b < n_blocks;) {
      const size_t vl = __riscv_vsetvl_e32m4(n_blocks - b);
      const uint8_t* first = rows + (r * n_blocks + b) * kBlockBytes + kBlockBytes - 2;
      const vuint16m2_t h = __riscv_vlse16_v_u16m2(reinterpret_cast<const uint16_t*>(first), kBlockBytes, vl);
      __riscv_vsse32_v_f32m4(scales + b * n_rows + r, n_rows * sizeof(float), f16_to_f32(h, vl), vl);
      b += vl;
    }
}

}  // namespace

// The driver's scaled_epilogue with one row per lane: each lane does the reference's float operations on its
// row in the reference's order (a multiply, then an add: no FMA), so outputs stay bit-identical.
void scaled_epilogue_rvv(const int32_t* dots, const float* scales, const int32_t* qsum, float xs,
                         size_t n_rows, size_t n_groups, float* y) {
  for (size_t r = 0; r < n_rows;) {
    const size_t vl = __riscv_vsetvl_e32m4(n_rows - r);
    vfloat32m4_t acc = __riscv_vfmv_v_f_f32m4(0.0f, vl);
    for (size_t g = 0; g < n_groups; ++g) {
      const vint32m4_t d =
          __riscv_vsub_vx_i32m4(__riscv_vle32_v_i32m4(dots + g * n_rows + r, vl), qsum[g], vl);
      const vfloat32m4_t s = __riscv_vle32_v_f32m4(scales + g * n_rows + r, vl);
      acc = __riscv_vfadd_vv_f32m4(acc, __riscv_vfmul_vv_f32m4(s, __riscv_vfcvt_f_x_v_f32m4(d, vl), vl), vl);
    }
    __riscv_vse32_v_f32m4(y + r, __riscv_vfdiv_vf_f32m4(acc, xs, vl), vl);
    r += vl;
  }
}
void tq2_block_scales_rvv(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales) {
  tq_block_scales<66>(rows, n_rows, n_blocks, scales);
}
void tq1_block_scales_rvv(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales) {
  tq_block_scales<54>(rows, n_rows, n_blocks, scales);
}

void i2s_gemv_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  ternary_dots<I2sLayout, kGemvRows, 1>(rows, n_rows, q, 1, k, dots);
}
void i2s_gemm_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots) {
  ternary_dots<I2sLayout, kGemmRows, kGemmTokens>(rows, n_rows, q, n_tokens, k, dots);
}
void tq2_gemv_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  ternary_dots<Tq2Layout, kGemvRows, 1>(rows, n_rows, q, 1, k, dots);
}
void tq2_gemm_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots) {
  ternary_dots<Tq2Layout, kGemmRows, kGemmTokens>(rows, n_rows, q, n_tokens, k, dots);
}
void tq1_gemv_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  ternary_dots<Tq1Layout, kGemvRows, 1>(rows, n_rows, q, 1, k, dots);
}
void tq1_gemm_rvv(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                  int32_t* dots) {
  ternary_dots<Tq1Layout, kGemmRows, kGemmTokens>(rows, n_rows, q, n_tokens, k, dots);
}

}  // namespace tern::rvv
