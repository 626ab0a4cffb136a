// The ISA-free matmul driver: built without ISA flags, it only calls a variant's kernels through its table,
// which the plugin hands over after the registry has checked the CPU.
#include <algorithm>
#include <vector>

#include "cpu_kernels.h"
#include "reference_kernels.h"

namespace tern::cpu {
namespace {

size_t group_size(DType t, size_t k) {
  return t == DType::I2_S ? k : 256;
}

int32_t sum_i8_scalar(const int8_t* q, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += q[i];
  return s;
}

// Activations prepared once per call, shared by every weight of a matmul_multi.
struct Activations {
  const float* x = nullptr;       // float activations (fake-quantized if asked for and the weights are float)
  const int8_t* xq = nullptr;     // ternary weights: int8 activations [T, K] ...
  const float* xs = nullptr;      // ... their per-token scales ...
  const int32_t* qsum = nullptr;  // ... and their sums per token and scale group: a dot with codes (weight +
                                  // 1) minus this is the ternary dot
  Int16RowDotFn int16_dot = nullptr;    // decode of a type with an int16 row dot: the dot, ...
  const int16_t* x_i16 = nullptr;       // ... quantize_blocks_i16 of the token ...
  const float* x_i16_scales = nullptr;  // ... and its block scales
};

// Runs on the caller's thread: its thread_local buffers are reused across calls (decode makes a few hundred
// per token). They must be named here, not in a parallel lambda, where the name would mean the worker's own.
Activations prepare(const CpuKernels& kernels, DType type, const float* x, size_t T, size_t K,
                    bool quantize_act) {
  thread_local ref::MatmulActivations act_buffer;
  thread_local std::vector<int32_t> qsum_buffer;
  thread_local std::vector<int16_t> x_i16_buffer;
  thread_local std::vector<float> x_i16_scales_buffer;
  ref::MatmulActivations& act = act_buffer;
  std::vector<int32_t>& qsum = qsum_buffer;
  std::vector<int16_t>& x_i16 = x_i16_buffer;
  std::vector<float>& x_i16_scales = x_i16_scales_buffer;
  const bool ternary = dtype_traits(type)->ternary;
  Activations a;
  a.x = ref::prepare_activations(
      x, T, K, ternary, quantize_act, act,
      kernels.quantize_activations ? kernels.quantize_activations : ref::quantize_activations_i8);
  a.xq = act.q.data();
  a.xs = act.scale.data();
  if (ternary && !dtype_tiled(type)) {
    const size_t group = group_size(type, K), ng = K / group;
    qsum.resize(T * ng);
    const auto sum = kernels.sum_i8 ? kernels.sum_i8 : sum_i8_scalar;
    for (size_t i = 0; i < T * ng; ++i) qsum[i] = sum(a.xq + i * group, group);
    a.qsum = qsum.data();
  }
  if (T == 1 && kernels.quantize_blocks_i16 && (a.int16_dot = kernels.floats_for(type).row_dot_i16)) {
    x_i16.resize(K);
    x_i16_scales.resize(K / 32 * 2);
    kernels.quantize_blocks_i16(a.x, K, x_i16.data(), x_i16_scales.data());
    a.x_i16 = x_i16.data();
    a.x_i16_scales = x_i16_scales.data();
  }
  return a;
}

// Outputs of one token for a block of n_rows rows from their group dots ([g][r]) and float group scales
// ([g][r]): y[r] = (sum over g of scale * (dot - qsum[g])) / xs, the reference's float operations in the
// reference's order, so the outputs are bit-identical. Rows go eight at a time with a fixed-length inner
// loop, which compilers turn into vector operations of any width (each lane one row, same roundings); each
// row's sum over groups is a chain of dependent adds, and the rows' chains run side by side.
void scaled_epilogue(const int32_t* dots, const float* scales, const int32_t* qsum, float xs, size_t n_rows,
                     size_t n_groups, float* y) {
  constexpr size_t kLanes = 8;
  size_t r0 = 0;
  for (; r0 + kLanes <= n_rows; r0 += kLanes) {
    float acc[kLanes] = {};
    for (size_t g = 0; g < n_groups; ++g) {
      const int32_t* d = dots + g * n_rows + r0;
      const float* s = scales + g * n_rows + r0;
      const int32_t qs = qsum[g];
      for (size_t j = 0; j < kLanes; ++j) acc[j] += s[j] * float(d[j] - qs);
    }
    for (size_t j = 0; j < kLanes; ++j) y[r0 + j] = acc[j] / xs;
  }
  for (size_t r = r0; r < n_rows; ++r) {
    float acc = 0;
    for (size_t g = 0; g < n_groups; ++g)
      acc += scales[g * n_rows + r] * float(dots[g * n_rows + r] - qsum[g]);
    y[r] = acc / xs;
  }
}

// The float group scales of nr consecutive rows in scaled_epilogue's [g][r] order: the tensor scale for I2_S,
// the f16 scale that ends each block for TQ1_0 / TQ2_0.
void gather_group_scales(const TernaryTypeKernels& k, const WeightView& w, size_t r0, size_t nr,
                         float* scales) {
  if (w.type == DType::I2_S) {
    std::fill(scales, scales + nr, w.scale);
    return;
  }
  const size_t nb = w.k / 256, bb = dtype_traits(w.type)->block_bytes;
  const uint8_t* rows = w.data + r0 * nb * bb;
  if (k.block_scales) return k.block_scales(rows, nr, nb, scales);
  for (size_t r = 0; r < nr; ++r)
    for (size_t b = 0; b < nb; ++b) {
      uint16_t h;
      std::memcpy(&h, rows + (r * nb + b) * bb + bb - 2, 2);
      scales[b * nr + r] = fp16_to_fp32(h);
    }
}

const uint8_t* ternary_rows(const WeightView& w, size_t r0) {
  return w.data + dtype_row_offset(w.type, w.k, r0);
}

// Rows [n0, n1) of y = W x for I2_S / TQ2_0 / TQ1_0.
void ternary_rows_matmul(const TernaryTypeKernels& k, ScaledEpilogueFn epilogue, const WeightView& w,
                         const Activations& a, float* y, size_t T, size_t n0, size_t n1) {
  const size_t K = w.k, N = w.n, ng = K / group_size(w.type, K);
  // Prefill: blocks of rows small enough to stay in L2 while every token of the batch passes over them.
  // Decode: I2_S streams 64 rows per call; TQ rows go eight at a time, so that the block scales, read after
  // the kernel, are still in L1 (read before it, they would stream the rows from DRAM a first time).
  const size_t kRows = w.type == DType::I2_S ? 64 : (T == 1 ? 8 : 32);
  const size_t kTokens = k.gemm_tokens && T > 1 ? k.gemm_tokens : (w.type == DType::I2_S ? 64 : 32);
  const size_t nt_max = std::min(T, kTokens);
  thread_local std::vector<int32_t> dots_buffer;
  thread_local std::vector<float> scales_buffer;
  std::vector<int32_t>& dots = dots_buffer;
  std::vector<float>& scales = scales_buffer;
  dots.resize(nt_max * ng * kRows);
  scales.resize(ng * kRows);
  for (size_t r0 = n0; r0 < n1; r0 += kRows) {
    const size_t nr = std::min(kRows, n1 - r0);
    for (size_t t0 = 0; t0 < T; t0 += kTokens) {
      const size_t nt = std::min(kTokens, T - t0);
      if (T == 1)
        k.gemv(ternary_rows(w, r0), nr, a.xq, K, dots.data());
      else
        k.gemm(ternary_rows(w, r0), nr, a.xq + t0 * K, nt, K, dots.data());
      if (t0 == 0) gather_group_scales(k, w, r0, nr, scales.data());
      for (size_t t = 0; t < nt; ++t)
        epilogue(dots.data() + t * ng * nr, scales.data(), a.qsum + (t0 + t) * ng, a.xs[t0 + t], nr, ng,
                 y + (t0 + t) * N + r0);
    }
  }
}

float dot_f32_scalar(const float* a, const float* b, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Rows [n0, n1) of y = W x for float-output types.
void float_rows_matmul(const CpuKernels& kernels, const WeightView& w, const Activations& a, float* y,
                       size_t T, size_t n0, size_t n1) {
  const size_t K = w.k, N = w.n, row_bytes = dtype_row_bytes(w.type, K);
  const FloatTypeKernels& f = kernels.floats_for(w.type);
  if (a.int16_dot) {  // decode of a type with an int16 row dot
    for (size_t n = n0; n < n1; ++n) y[n] = a.int16_dot(w.data + n * row_bytes, a.x_i16, a.x_i16_scales, K);
  } else if (T == 1 && f.row_dot) {
    // Decode (e.g. the LM head): each weight is used once, so decode it in registers instead of through
    // memory.
    for (size_t n = n0; n < n1; ++n) y[n] = f.row_dot(w.data + n * row_bytes, a.x, K);
  } else if (T <= kMaxRowDotsTokens && f.row_dots) {
    f.row_dots(w.data + n0 * row_bytes, row_bytes, n1 - n0, a.x, K, T, y + n0, N);
  } else {
    const auto dot = kernels.dot_f32 ? kernels.dot_f32 : dot_f32_scalar;
    std::vector<float> tmp(K);
    for (size_t n = n0; n < n1; ++n) {
      f.dequantize_row(w.data + n * row_bytes, tmp.data(), K);
      for (size_t t = 0; t < T; ++t) y[t * N + n] = dot(tmp.data(), a.x + t * K, K);
    }
  }
}

// TL1 / TL2 for `count` weights of the same K: each chunk of tokens' tables is built once and serves all of
// them.
void matmul_lut(DType type, const LutKernels& lut_kernels, const WeightView* const* ws, float* const* ys,
                size_t count, const Activations& a, size_t T, const Parallel& par) {
  const size_t K = ws[0]->k, lut_bytes = lut_kernels.lut_bytes(K), n_units = lut_kernels.lut_units(K);
  const size_t tile_rows = type == DType::TL1 ? kTL1TileRows : kTL2TileRows;
  const size_t tile_bytes = type == DType::TL1 ? tl1_tile_bytes(K) : tl2_tile_bytes(K);
  // Tables for a few tokens at a time: each tile is then read once per chunk and the tables stay in cache.
  constexpr size_t kTokensPerChunk = 8;
  const size_t chunk = std::min(T, kTokensPerChunk);
  // Reused across calls: at 2B4T's K a token's tables are tens of KB, which malloc would map and unmap every
  // time.
  thread_local std::vector<uint8_t> lut_buffer;
  std::vector<uint8_t>& lut = lut_buffer;
  if (lut.size() < chunk * lut_bytes) lut.resize(chunk * lut_bytes);
  // Tiles of all weights as one index space: tile_start[i] is weight i's first.
  std::vector<size_t> tile_start(count + 1, 0);
  for (size_t i = 0; i < count; ++i)
    tile_start[i + 1] = tile_start[i] + (ws[i]->n + tile_rows - 1) / tile_rows;
  for (size_t t0 = 0; t0 < T; t0 += chunk) {
    const size_t nt = std::min(chunk, T - t0);
    par.for_range(nt * n_units, [&](size_t i0, size_t i1) {
      for (size_t i = i0; i < i1;) {
        const size_t t = i / n_units, p0 = i % n_units, p1 = std::min(n_units, p0 + (i1 - i));
        lut_kernels.build_lut(a.xq + (t0 + t) * K, K, p0, p1, lut.data() + t * lut_bytes);
        i += p1 - p0;
      }
    });
    par.for_range(tile_start[count], [&](size_t g0, size_t g1) {
      alignas(64) int32_t dots[kTokensPerChunk * kTL2TileRows];  // TL1's tiles are smaller
      for (size_t i = 0; i < count; ++i) {
        const size_t lo = std::max(g0, tile_start[i]), hi = std::min(g1, tile_start[i + 1]);
        if (lo >= hi) continue;
        const WeightView& w = *ws[i];
        const size_t N = w.n;
        for (size_t b = lo - tile_start[i]; b < hi - tile_start[i]; ++b) {
          lut_kernels.tile_dot(w.data + b * tile_bytes, lut.data(), lut_bytes, nt, K, dots);
          for (size_t t = 0; t < nt; ++t) {
            const size_t tt = t0 + t;
            for (size_t r = 0; r < tile_rows && b * tile_rows + r < N; ++r)
              // Same float operations, in the same order, as the reference: outputs are bit-identical.
              ys[i][tt * N + b * tile_rows + r] = (w.scale * float(dots[tile_rows * t + r])) / a.xs[tt];
          }
        }
      }
    });
  }
}

}  // namespace

bool has_kernels(const CpuKernels& kernels, DType t) {
  if (dtype_index(t) >= kDTypeCount) return false;
  if (dtype_tiled(t)) {
    const LutKernels& l = kernels.lut_for(t);
    return l.lut_bytes && l.lut_units && l.build_lut && l.tile_dot;
  }
  if (dtype_traits(t)->ternary) return kernels.ternary_for(t).gemv && kernels.ternary_for(t).gemm;
  return kernels.floats_for(t).dequantize_row != nullptr;
}

void matmul(const CpuKernels& kernels, const WeightView& w, const float* x, float* y, size_t T,
            bool quantize_act, const Parallel& par) {
  const WeightView* ws[] = {&w};
  float* const ys[] = {y};
  matmul_multi(kernels, ws, ys, 1, x, T, quantize_act, par);
}

void matmul_multi(const CpuKernels& kernels, const WeightView* const* ws, float* const* ys, size_t count,
                  const float* x, size_t T, bool quantize_act, const Parallel& par) {
  if (count == 0) return;
  const DType type = ws[0]->type;
  const size_t K = ws[0]->k;
  for (size_t i = 1; i < count; ++i)
    if (ws[i]->type != type || ws[i]->k != K) {  // nothing to share: one call each
      for (size_t j = 0; j < count; ++j) matmul(kernels, *ws[j], x, ys[j], T, quantize_act, par);
      return;
    }
  if (!has_kernels(kernels, type)) {
    for (size_t i = 0; i < count; ++i) ref::matmul(*ws[i], x, ys[i], T, quantize_act, par);
    return;
  }
  const Activations a = prepare(kernels, type, x, T, K, quantize_act);
  const ExternalGemm& ext = kernels.external_gemm;
  const bool small_batch_row_dots = T <= kMaxRowDotsTokens && kernels.floats_for(type).row_dots;
  if (ext.prefers && ext.prefers(type, T) && !small_batch_row_dots) {
    for (size_t i = 0; i < count; ++i) {
      if (type == DType::I2_S)
        ext.i2s(*ws[i], a.xq, a.xs, a.qsum, ys[i], T, par);
      else
        ext.float_gemm(*ws[i], a.x, ys[i], T, par);
    }
    return;
  }
  if (dtype_tiled(type)) return matmul_lut(type, kernels.lut_for(type), ws, ys, count, a, T, par);
  // Rows of all weights as one parallel job: one pool round trip instead of `count` (decode makes hundreds a
  // token).
  std::vector<size_t> row_start(count + 1, 0);
  for (size_t i = 0; i < count; ++i) row_start[i + 1] = row_start[i] + ws[i]->n;
  const bool ternary = dtype_traits(type)->ternary;
  const ScaledEpilogueFn epilogue = kernels.scaled_epilogue ? kernels.scaled_epilogue : scaled_epilogue;
  par.for_range(row_start[count], [&](size_t r0, size_t r1) {
    for (size_t i = 0; i < count; ++i) {
      const size_t n0 = std::max(r0, row_start[i]), n1 = std::min(r1, row_start[i + 1]);
      if (n0 >= n1) continue;
      if (ternary)
        ternary_rows_matmul(kernels.ternary_for(type), epilogue, *ws[i], a, ys[i], T, n0 - row_start[i],
                            n1 - row_start[i]);
      else
        float_rows_matmul(kernels, *ws[i], a, ys[i], T, n0 - row_start[i], n1 - row_start[i]);
    }
  });
}

}  // namespace tern::cpu
