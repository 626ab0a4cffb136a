// Prefill through oneDNN's GEMM. oneDNN (Debian's build uses OpenMP) would start its own threads next to the
// runtime's pool, so each pool thread instead makes single-threaded oneDNN calls on its own block of rows:
// the pool owns the cores, and nothing is oversubscribed.
#include <immintrin.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "x86_kernels.h"

namespace tern::x86 {
namespace {

// Rows per oneDNN call: the unpacked block (rows x K bytes or floats) stays within L2 for 2B4T's widest K.
constexpr size_t kRowBlock = 64;

void unpack_i2s_codes(const uint8_t* row, size_t k, uint8_t* codes) {
  const __m256i mask = _mm256_set1_epi8(3);
  for (size_t b = 0; b < k / 128; ++b) {
    const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * b));
    for (int j = 0; j < 4; ++j)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + 128 * b + 32 * j),
                          _mm256_and_si256(_mm256_srl_epi16(p, _mm_cvtsi32_si128(6 - 2 * j)), mask));
  }
}

}  // namespace

OneDnnUse onednn_use() {
  static const OneDnnUse use = [] {
    const char* e = std::getenv("TERN_ONEDNN");
    if (!e || !*e) return OneDnnUse::Auto;
    return std::strcmp(e, "0") == 0 ? OneDnnUse::Never : OneDnnUse::Always;
  }();
  return use;
}

bool onednn_prefers(DType t, size_t n_tokens, OneDnnUse use) {
  // oneDNN's GEMM serves I2_S (one scale per tensor) and float types; the TQ types and TL2 never go there.
  if (use == OneDnnUse::Never || n_tokens < 2 || (t != DType::I2_S && dtype_traits(t)->ternary)) return false;
  if (use == OneDnnUse::Always) return true;
  // Measured by bench_x86_kernels (BM_MatmulOneDnn vs BM_MatmulAvx2, same shapes, same run): for I2_S our
  // register-tiled kernel is faster at every batch size (1.3x at 128 tokens), because oneDNN needs the codes
  // unpacked to bytes first; for float types oneDNN wins from kOneDnnMinTokensFloat tokens on.
  return t != DType::I2_S && n_tokens >= kOneDnnMinTokensFloat;
}

bool onednn_prefers_by_env(DType t, size_t n_tokens) {
  return onednn_prefers(t, n_tokens, onednn_use());
}

void matmul_onednn_i2s(const WeightView& w, const int8_t* xq, const float* xs, const int32_t* qsum, float* y,
                       size_t T, const Parallel& par) {
  const size_t K = w.k, N = w.n, n_blocks = (N + kRowBlock - 1) / kRowBlock;
  par.for_range(n_blocks, [&](size_t b0, size_t b1) {
    omp_set_num_threads(1);  // this thread's oneDNN calls run on this thread only
    std::vector<uint8_t> codes(kRowBlock * K);
    std::vector<int32_t> c(kRowBlock * T);
    for (size_t b = b0; b < b1; ++b) {
      const size_t r0 = b * kRowBlock, rows = std::min(kRowBlock, N - r0);
      for (size_t r = 0; r < rows; ++r) unpack_i2s_codes(w.data + (r0 + r) * K / 4, K, codes.data() + r * K);
      const int32_t zero = 0;
      // c[rows x T] = codes[rows x K] * xq[T x K]^T, exact in int32.
      if (dnnl_gemm_u8s8s32('N', 'T', 'F', dnnl_dim_t(rows), dnnl_dim_t(T), dnnl_dim_t(K), 1.0f, codes.data(),
                            dnnl_dim_t(K), 0, xq, dnnl_dim_t(K), 0, 0.0f, c.data(), dnnl_dim_t(T),
                            &zero) != dnnl_success)
        // oneDNN refused (e.g. out of memory): our kernel gives the same sums.
        for (size_t r = 0; r < rows; ++r)
          for (size_t t = 0; t < T; ++t)
            c[r * T + t] = i2s_dot_codes_avx2(w.data + (r0 + r) * K / 4, xq + t * K, K);
      for (size_t t = 0; t < T; ++t)  // rows inner: contiguous writes to y; c is small enough for L1
        for (size_t r = 0; r < rows; ++r)
          // Same float operations, in the same order, as the reference: outputs are bit-identical.
          y[t * N + r0 + r] = (w.scale * float(c[r * T + t] - qsum[t])) / xs[t];
    }
  });
}

void matmul_onednn_float(const WeightView& w, const float* x, float* y, size_t T, const Parallel& par) {
  const size_t K = w.k, N = w.n, n_blocks = (N + kRowBlock - 1) / kRowBlock,
               row_bytes = dtype_row_bytes(w.type, K);
  par.for_range(n_blocks, [&](size_t b0, size_t b1) {
    omp_set_num_threads(1);
    std::vector<float> rows_f32(kRowBlock * K);
    for (size_t b = b0; b < b1; ++b) {
      const size_t r0 = b * kRowBlock, rows = std::min(kRowBlock, N - r0);
      for (size_t r = 0; r < rows; ++r)
        dequantize_row_avx2(w.type, w.data + (r0 + r) * row_bytes, rows_f32.data() + r * K, K);
      // y[:, r0:r0+rows] = x[T x K] * rows_f32[rows x K]^T, written in place (ldc = N).
      if (dnnl_sgemm('N', 'T', dnnl_dim_t(T), dnnl_dim_t(rows), dnnl_dim_t(K), 1.0f, x, dnnl_dim_t(K),
                     rows_f32.data(), dnnl_dim_t(K), 0.0f, y + r0, dnnl_dim_t(N)) != dnnl_success)
        for (size_t r = 0; r < rows; ++r)  // oneDNN refused: our dot products instead
          for (size_t t = 0; t < T; ++t)
            y[t * N + r0 + r] = dot_f32_avx2(rows_f32.data() + r * K, x + t * K, K);
    }
  });
}

}  // namespace tern::x86
