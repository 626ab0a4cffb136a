#pragma once
// The kernel table of one CPU plugin variant. The ISA-free CPU driver (cpu_matmul.cpp) owns everything around
// the inner loops: row splitting over the thread pool, token tiles, activation quantization, the float
// epilogues that keep integer paths bit-identical to the reference. A backend for a new ISA fills in this
// table (backends/<isa>/) and nothing else; a null entry runs the reference for that type or op, so a port
// can start with a few kernels and grow.
#include <array>
#include <cstddef>
#include <cstdint>

#include "tern/plugin/backend_api.h"

namespace tern::cpu {

// Integer dots of ternary codes (weight + 1, in {0, 1, 2}) with int8 activations q (k per token). Dots are
// per scale group of the type (I2_S: the whole row; TQ1_0 / TQ2_0: 256-weight blocks), laid out dots[(t *
// n_groups + g) * n_rows + r] for token t, group g and row r; the driver subtracts the activations' group
// sums and applies the scales. `rows` points at the first of n_rows consecutive rows.
using TernaryGemvFn = void (*)(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots);
using TernaryGemmFn = void (*)(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t n_tokens, size_t k,
                               int32_t* dots);
// The f16 scales that end each of the n_blocks blocks (kBlockBytes each) of n_rows consecutive TQ rows, as
// floats in [block][row] order, exactly. Optional: the driver converts them in scalar code otherwise, which
// decode notices (one conversion per 256 weights).
using BlockScalesFn = void (*)(const uint8_t* rows, size_t n_rows, size_t n_blocks, float* scales);
struct TernaryTypeKernels {
  TernaryGemvFn gemv = nullptr;  // decode: one token
  TernaryGemmFn gemm = nullptr;  // prefill: a tile of tokens
  BlockScalesFn block_scales = nullptr;
  // Tokens per gemm call, 0 for the driver's default: a kernel that decodes its rows once per call into a
  // form every token then uses (AMX tiles) amortizes that over more tokens.
  size_t gemm_tokens = 0;
};

// Float-output types (F32, F16, BF16, Q8_0, Q4_0, Q4_1).
using RowDotFn = float (*)(const uint8_t* row, const float* x, size_t k);
using Int16RowDotFn = float (*)(const uint8_t* row, const int16_t* xq, const float* block_scales, size_t k);
using DequantizeRowFn = void (*)(const uint8_t* row, float* out, size_t k);
// n_rows consecutive rows (row_bytes apart) against n_tokens (<= kMaxRowDotsTokens) tokens of float
// activations (token t at x + t * k), decoding the weights in registers once for all of them:
// out[t * out_stride + r] = row_r . x_t. Several rows per call let a kernel load each activation once for
// a few rows: a batch's activations outgrow L1, and reloading them from L2 for every row bounds the loop.
inline constexpr size_t kMaxRowDotsTokens = 8;
using RowDotsFn = void (*)(const uint8_t* rows, size_t row_bytes, size_t n_rows, const float* x, size_t k,
                           size_t n_tokens, float* out, size_t out_stride);
struct FloatTypeKernels {
  // Decode, one of: a row times int16-quantized activations (see CpuKernels::quantize_blocks_i16), or a row
  // times float activations decoding the weights in registers. Without either, decode dequantizes the row.
  Int16RowDotFn row_dot_i16 = nullptr;
  RowDotFn row_dot = nullptr;
  DequantizeRowFn dequantize_row = nullptr;  // needed for the type to run here at all
  // Small batches (continuous batching's decode, the LM head of a few streams): each weight read once for
  // up to kMaxRowDotsTokens tokens, ahead of dequantizing rows or an external GEMM.
  RowDotsFn row_dots = nullptr;
};

// Lookup-table ternary types (TL1, TL2): per-token tables built once, then tiles of rows looked up in them.
struct LutKernels {
  size_t (*lut_bytes)(size_t k) = nullptr;  // one token's tables
  size_t (*lut_units)(size_t k) = nullptr;  // the units build_lut can be split into (TL2: group pairs)
  // Tables for units [unit0, unit1) of one token's int8 activations.
  void (*build_lut)(const int8_t* q, size_t k, size_t unit0, size_t unit1, uint8_t* lut) = nullptr;
  // Exact ternary dots of one tile's rows with n_tokens tokens: out[tile_rows * t + r].
  void (*tile_dot)(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens, size_t k,
                   int32_t* out) = nullptr;
};

// A batched GEMM library a variant may hand large prefill batches to (x86: oneDNN). qsum: per-token sums of
// the int8 activations (the I2_S codes are weight + 1).
struct ExternalGemm {
  bool (*prefers)(DType t, size_t n_tokens) = nullptr;
  void (*i2s)(const WeightView& w, const int8_t* xq, const float* xs, const int32_t* qsum, float* y,
              size_t n_tokens, const Parallel& par) = nullptr;
  void (*float_gemm)(const WeightView& w, const float* x, float* y, size_t n_tokens,
                     const Parallel& par) = nullptr;
};

// One token's outputs of a block of n_rows ternary rows from their group dots ([g][r]), float group scales
// ([g][r]), the activations' group sums and the token's scale: y[r] = (sum over g of scale * (dot - qsum[g]))
// / xs, with the reference's float operations in its order (bit-identical). Optional: the driver's portable
// loop does the same.
using ScaledEpilogueFn = void (*)(const int32_t* dots, const float* scales, const int32_t* qsum, float xs,
                                  size_t n_rows, size_t n_groups, float* y);

// Attention's two sums, for cpu::attention, over a KV cache held in one of kv_cache_types(): `k` / `v`
// point at the KV head's first element in the row of key 0, rows are row_bytes apart, and each element
// counts as its exact dequantized value. head_scores: score[h * stride + j] = (sum over d, in order, of
// q_h[d] * k_j[d]) * scale for the nh (1..kMaxSharedHeads) query heads at q + h * hd that share the KV head,
// keys [0, n_keys). weighted_values: out[d] = sum over keys j, in order, of p[j] * v_j[d].
inline constexpr size_t kMaxSharedHeads = 4;
using HeadScoresFn = void (*)(size_t nh, const float* q, size_t hd, const uint8_t* k, size_t row_bytes,
                              size_t n_keys, float scale, float* score, size_t stride);
using WeightedValuesFn = void (*)(const float* p, const uint8_t* v, size_t row_bytes, size_t n_keys,
                                  size_t hd, float* out);
struct AttentionKernels {
  size_t head_dim_multiple = 0;  // head sizes the kernels take; others run the reference
  // Indexed by dtype_index() of the cache's type. With the F32 entries set, a type without its own entries
  // runs them on the head's keys / values dequantized (exactly) into scratch.
  std::array<HeadScoresFn, kDTypeCount> head_scores{};
  std::array<WeightedValuesFn, kDTypeCount> weighted_values{};
};

struct CpuKernels {
  // Exactly ref::quantize_activations_i8 (same scale, same rounding), and the sum of n int8 values.
  float (*quantize_activations)(const float* x, int8_t* q, size_t k) = nullptr;
  int32_t (*sum_i8)(const int8_t* q, size_t n) = nullptr;
  std::array<TernaryTypeKernels, kDTypeCount> ternary{};  // indexed by dtype_index()
  std::array<FloatTypeKernels, kDTypeCount> floats{};
  std::array<LutKernels, kDTypeCount> luts{};
  ScaledEpilogueFn scaled_epilogue = nullptr;
  float (*dot_f32)(const float* a, const float* b, size_t n) = nullptr;
  // Quantizes each 32-float block of x to int16 for FloatTypeKernels::row_dot_i16 (block_scales: two per
  // block, the scale and the scale times the block's sum). The driver only holds the k int16s: their layout
  // within each block's 64 bytes is the table's own (arm-dotprod stores two int8 halves).
  void (*quantize_blocks_i16)(const float* x, size_t k, int16_t* xq, float* block_scales) = nullptr;
  ExternalGemm external_gemm;
  // Ops beyond matmul, each bit-identical to the reference where set.
  AttentionKernels attention;
  void (*gated_activation)(const float* gate, const float* up, float* out, size_t n,
                           Activation act) = nullptr;
  void (*rms_norm)(const float* x, const float* weight, float* y, size_t n_tokens, size_t dim,
                   float eps) = nullptr;

  constexpr TernaryTypeKernels& ternary_for(DType t) { return ternary[dtype_index(t)]; }
  constexpr const TernaryTypeKernels& ternary_for(DType t) const { return ternary[dtype_index(t)]; }
  constexpr FloatTypeKernels& floats_for(DType t) { return floats[dtype_index(t)]; }
  constexpr LutKernels& lut_for(DType t) { return luts[dtype_index(t)]; }
  constexpr const LutKernels& lut_for(DType t) const { return luts[dtype_index(t)]; }
  constexpr const FloatTypeKernels& floats_for(DType t) const { return floats[dtype_index(t)]; }
};

// Whether the driver runs type t with this table's kernels (otherwise it runs the reference).
bool has_kernels(const CpuKernels& kernels, DType t);

// y = W x for n_tokens tokens (Backend::matmul), and the same for `count` weights sharing x
// (Backend::matmul_multi): activations are quantized once and all rows run as one parallel job.
void matmul(const CpuKernels& kernels, const WeightView& w, const float* x, float* y, size_t n_tokens,
            bool quantize_activations, const Parallel& par);
void matmul_multi(const CpuKernels& kernels, const WeightView* const* ws, float* const* ys, size_t count,
                  const float* x, size_t n_tokens, bool quantize_activations, const Parallel& par);

// ref::attention, bit-identical, through `k`'s sums (cpu_attention.cpp).
void attention(const AttentionKernels& k, const AttentionArgs& a, const Parallel& par);

// DequantizeRowFn for types whose prefill rows a port dequantizes with the reference (exact; prefill
// amortizes each row over the batch's tokens).
template <DType kType>
void reference_dequantize_row(const uint8_t* row, float* out, size_t k) {
  dequantize_row(kType, row, out, k);
}

// A TernaryGemvFn from a kernel that gives one row's block dots (dots[b] for its n_blocks blocks of
// kBlockBytes), for ISAs whose decode kernel works a row at a time.
template <size_t kBlockBytes,
          void (*kRowDots)(const uint8_t* row, const int8_t* q, size_t n_blocks, int32_t* dots)>
void gemv_by_rows(const uint8_t* rows, size_t n_rows, const int8_t* q, size_t k, int32_t* dots) {
  const size_t nb = k / 256;
  int32_t row[64];
  for (size_t r = 0; r < n_rows; ++r)
    for (size_t b0 = 0; b0 < nb; b0 += 64) {
      const size_t n = nb - b0 < 64 ? nb - b0 : 64;
      kRowDots(rows + (r * nb + b0) * kBlockBytes, q + b0 * 256, n, row);
      for (size_t b = 0; b < n; ++b) dots[(b0 + b) * n_rows + r] = row[b];
    }
}

}  // namespace tern::cpu
