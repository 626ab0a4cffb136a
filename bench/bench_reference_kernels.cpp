// Scalar reference matmul per weight type: the baseline every backend's benchmark is compared against.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "reference_kernels.h"
#include "tern/thread_pool.h"

namespace {

void BM_ReferenceMatmul(benchmark::State& state, tern::DType type) {
  const size_t K = size_t(state.range(0)), N = size_t(state.range(1)), T = size_t(state.range(2));
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> w(K * N), x(T * K), y(T * N);
  for (auto& v : w) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  const float scale = tern::ternary_absmean_scale(w.data(), w.size());
  std::vector<uint8_t> bytes(tern::dtype_tensor_bytes(type, K, N));
  tern::quantize_matrix(type, w.data(), bytes.data(), K, N, scale);
  tern::WeightView view{type, bytes.data(), bytes.size(), K, N, scale, nullptr};
  tern::ThreadPool pool(1);
  for (auto _ : state) {
    tern::ref::matmul(view, x.data(), y.data(), T, false, pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(double(bytes.size()) * double(state.iterations()), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

#define TERN_BENCH_TYPE(T) \
  BENCHMARK_CAPTURE(BM_ReferenceMatmul, T, tern::DType::T)->Args({2560, 256, 1})->Args({2560, 256, 8});
TERN_BENCH_TYPE(F32)
TERN_BENCH_TYPE(F16)
TERN_BENCH_TYPE(BF16)
TERN_BENCH_TYPE(Q8_0)
TERN_BENCH_TYPE(Q4_0)
TERN_BENCH_TYPE(Q4_1)
TERN_BENCH_TYPE(Q4_ZP)
TERN_BENCH_TYPE(TQ1_0)
TERN_BENCH_TYPE(TQ2_0)
TERN_BENCH_TYPE(I2_S)

}  // namespace
