#pragma once
// Shared by the x86 kernel tests: random weights of any type, as the models hold them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "random_weights.h"
#include "reference_kernels.h"
#include "tern/dtype.h"
#include "tern/thread_pool.h"
#include "x86_kernels.h"

namespace tern::x86_test {

using test::make_weight;
using test::random_i8;

// The first element where y differs from y_ref beyond what type t allows, or "": ternary types are exact
// (integer dots, the reference's float epilogue), float types within 1e-4 relative (another summation order,
// and int16 activations in the Q8_0 / Q4 decode dots).
inline std::string first_mismatch(DType t, const std::vector<float>& y, const std::vector<float>& y_ref) {
  for (size_t i = 0; i < y_ref.size(); ++i) {
    const float a = y[i], b = y_ref[i];
    if (dtype_traits(t)->ternary ? !(a == b) : !(std::fabs(a - b) <= 1e-4f * (1.0f + std::fabs(b))))
      return std::string(dtype_name(t)) + " [" + std::to_string(i) + "]: " + std::to_string(a) +
             " != " + std::to_string(b);
  }
  return "";
}

// A prefill kernel (a TernaryTypeKernels::gemm) against scalar sums of
// code * q, on arbitrary bytes (code 3 included; TQ1_0 decoded by the reference): by default 1 to 5 rows
// (tiles of two and an odd row) times 1 to 9 tokens (groups of four and every ragged tail), K of one block
// and of more than one I2_S int16 run. TQ2_0 / TQ1_0 give one dot per 256-weight block, I2_S one per row.
// Returns the first mismatch, or "".
template <class GemmDots>
std::string check_ternary_gemm(DType type, GemmDots gemm_dots,
                               const std::vector<size_t>& row_counts = {1, 2, 3, 4, 5},
                               const std::vector<size_t>& token_counts = {1, 2, 3, 4, 5, 6, 7, 8, 9}) {
  std::mt19937 rng(29);
  const bool per_block = type != DType::I2_S;
  for (size_t k : {size_t(256), size_t(128 * 18)})
    for (size_t n_rows : row_counts)
      for (size_t n_tokens : token_counts) {
        const size_t row_bytes = dtype_row_bytes(type, k), per_item = per_block ? k / 256 : 1,
                     items_per_dot = k / per_item;
        std::vector<uint8_t> rows(n_rows * row_bytes);
        for (auto& b : rows) b = uint8_t(rng());
        std::vector<float> trits(n_rows * k);  // TQ1_0: the reference's decoding, with every scale set to 1
        if (type == DType::TQ1_0) {
          const uint16_t one = fp32_to_fp16(1.0f);
          for (size_t blk = 0; blk < n_rows * k / 256; ++blk)
            std::memcpy(rows.data() + blk * 54 + 52, &one, 2);
          dequantize_row(type, rows.data(), trits.data(), n_rows * k);
        }
        const std::vector<int8_t> q = random_i8(n_tokens * k, rng);
        std::vector<int32_t> dots(n_tokens * n_rows * per_item);
        gemm_dots(rows.data(), n_rows, q.data(), n_tokens, k, dots.data());
        // I2_S: element 32 m + j of a 128-weight block is bits 6 - 2m of the block's byte j. TQ2_0: element
        // 128 h + 32 m + j of a 256-weight block is bits 2m of byte 32 h + j (the block's f16 scale follows).
        auto code = [&](size_t r, size_t i) {
          const uint8_t* row = rows.data() + r * row_bytes;
          if (type == DType::TQ1_0) return int(trits[r * k + i]) + 1;
          if (type == DType::TQ2_0)
            return (row[i / 256 * 66 + i % 256 / 128 * 32 + i % 32] >> (2 * (i % 128 / 32))) & 3;
          return (row[i / 128 * 32 + i % 32] >> (6 - 2 * (i % 128 / 32))) & 3;
        };
        for (size_t t = 0; t < n_tokens; ++t)
          for (size_t r = 0; r < n_rows; ++r)
            for (size_t d = 0; d < per_item; ++d) {
              int32_t want = 0;
              for (size_t i = d * items_per_dot; i < (d + 1) * items_per_dot; ++i)
                want += code(r, i) * q[t * k + i];
              const int32_t got = dots[(t * per_item + d) * n_rows + r];
              if (got != want)
                return std::string(dtype_name(type)) + " k=" + std::to_string(k) +
                       " rows=" + std::to_string(n_rows) + " tokens=" + std::to_string(n_tokens) + ": [" +
                       std::to_string(t) + "][" + std::to_string(r) + "][" + std::to_string(d) +
                       "] = " + std::to_string(got) + ", want " + std::to_string(want);
            }
      }
  return "";
}

// cpu::matmul with `kernels` against ref::matmul on ragged shapes: any row count, K of one to six blocks
// (TL2: any K, partial row tiles), decode and batches with ragged token tiles, with and without activation
// quantization, our kernels only (no oneDNN).
inline std::string check_matmul_against_reference(const cpu::CpuKernels& kernels, DType t,
                                                  std::mt19937& rng) {
  ThreadPool pool(2);
  const size_t block = dtype_traits(t)->block_size;
  for (int trial = 0; trial < 6; ++trial) {
    size_t K = block * (1 + rng() % 6) * (block < 64 ? 4 : 1), N = 1 + rng() % 37;
    if (t == DType::TL2) K = 1 + rng() % 1300, N = 1 + rng() % 100;
    const size_t T = trial == 0 ? 1 : 1 + rng() % 11;  // decode; token tiles of 4 (I2_S) or chunks of 8 (TL2)
    const bool qa = trial % 2 == 1;
    float scale;
    auto bytes = make_weight(t, K, N, rng, &scale);
    WeightView w{t, bytes.data(), bytes.size(), K, N, scale, nullptr};
    std::normal_distribution<float> nd;
    std::vector<float> x(T * K), y_ref(T * N), y(T * N);
    for (auto& v : x) v = nd(rng);
    ref::matmul(w, x.data(), y_ref.data(), T, qa, pool);
    cpu::matmul(x86::with_onednn(kernels, x86::OneDnnUse::Never), w, x.data(), y.data(), T, qa, pool);
    if (std::string m = first_mismatch(t, y, y_ref); !m.empty())
      return m + " (K=" + std::to_string(K) + " N=" + std::to_string(N) + " T=" + std::to_string(T) + ")";
  }
  return "";
}

// cpu::matmul_multi against one ref::matmul per weight: three weights of type t with the same K and different
// N, for decode, a few tokens and a oneDNN-sized batch. Returns the first mismatch, or "" (exact for ternary
// types, relative 1e-4 for float ones).
inline std::string check_multi_against_reference(const cpu::CpuKernels& kernels, DType t, std::mt19937& rng) {
  ThreadPool pool(2);
  const size_t K = t == DType::TL2 ? 1 + rng() % 900 : dtype_traits(t)->block_size * (1 + rng() % 4) * 4;
  for (size_t T : {1, 3, 70}) {
    std::vector<std::vector<uint8_t>> bytes(3);
    std::vector<WeightView> w(3);
    std::vector<std::vector<float>> y_ref(3), y_x86(3);
    std::normal_distribution<float> nd;
    std::vector<float> x(T * K);
    for (auto& v : x) v = nd(rng);
    for (size_t i = 0; i < 3; ++i) {
      const size_t N = 1 + rng() % 70;
      float scale;
      bytes[i] = make_weight(t, K, N, rng, &scale);
      w[i] = {t, bytes[i].data(), bytes[i].size(), K, N, scale, nullptr};
      y_ref[i].resize(T * N);
      y_x86[i].assign(T * N, NAN);
      ref::matmul(w[i], x.data(), y_ref[i].data(), T, true, pool);
    }
    const WeightView* ws[] = {&w[0], &w[1], &w[2]};
    float* const ys[] = {y_x86[0].data(), y_x86[1].data(), y_x86[2].data()};
    cpu::matmul_multi(kernels, ws, ys, 3, x.data(), T, true, pool);
    for (size_t i = 0; i < 3; ++i)
      if (std::string m = first_mismatch(t, y_x86[i], y_ref[i]); !m.empty())
        return m + " (weight " + std::to_string(i) + ", K=" + std::to_string(K) + " T=" + std::to_string(T) +
               ")";
  }
  return "";
}

// One TL2 tile (32 rows of K) against the reference, for one, two and three tokens at once (the kernels take
// tokens in pairs, then one): all +1 weights (every group's sign bit set) and all -1 against -128
// activations, the largest sums the int16 accumulators see, then random trits and activations. Returns the
// first mismatch, or "".
using TL2TileDot = void (*)(const uint8_t* tile, const uint8_t* lut, size_t lut_stride, size_t n_tokens,
                            size_t k, int32_t* out);
inline std::string check_tl2_tile_dot(TL2TileDot tile_dot, size_t K, std::mt19937& rng) {
  const size_t N = kTL2TileRows, lut_bytes = x86::tl2_lut_bytes(K);
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<int8_t> trits(K * N);
    for (auto& v : trits) v = int8_t(trial == 0 ? 1 : trial == 1 ? -1 : int(rng() % 3) - 1);
    std::vector<uint8_t> data(tl2_tile_bytes(K));
    tl2_pack(trits.data(), K, N, data.data());
    for (size_t n_tokens = 1; n_tokens <= 3; ++n_tokens) {
      std::vector<int8_t> q;
      std::vector<uint8_t> lut(n_tokens * lut_bytes);
      for (size_t t = 0; t < n_tokens; ++t) {
        const std::vector<int8_t> qt = trial < 2 ? std::vector<int8_t>(K, -128) : random_i8(K, rng);
        x86::tl2_build_lut_avx2(qt.data(), K, 0, tl2_groups(K) / 2, lut.data() + t * lut_bytes);
        q.insert(q.end(), qt.begin(), qt.end());
      }
      std::vector<int32_t> got(n_tokens * kTL2TileRows);
      tile_dot(data.data(), lut.data(), lut_bytes, n_tokens, K, got.data());
      for (size_t t = 0; t < n_tokens; ++t)
        for (size_t r = 0; r < N; ++r)
          if (const int32_t want = ref::dot_i8(trits.data() + r * K, q.data() + t * K, K);
              got[t * kTL2TileRows + r] != want)
            return "trial " + std::to_string(trial) + ", token " + std::to_string(t) + " of " +
                   std::to_string(n_tokens) + ", row " + std::to_string(r) + ": " +
                   std::to_string(got[t * kTL2TileRows + r]) + " != " + std::to_string(want);
    }
  }
  return "";
}

}  // namespace tern::x86_test
