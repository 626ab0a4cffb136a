// RVV matmul through the CPU driver vs the scalar reference, on the same shapes in the same run (2B4T-like:
// K = 2560), single-threaded; without V it reports an error instead of running. Under qemu these times mean
// nothing: run it on RISC-V hardware (scripts/mca_kernels.py --arch riscv64 models the loops meanwhile, and
// scripts/rvv_icount.sh counts instructions).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "random_weights.h"
#include "reference_kernels.h"
#include "rvv_kernels.h"
#include "tern/cpu_features.h"
#include "tern/thread_pool.h"

namespace {

struct Case {
  std::vector<uint8_t> bytes;
  std::vector<float> x, y;
  tern::WeightView w;
};

Case make_case(tern::DType type, size_t K, size_t N, size_t T) {
  Case c;
  std::mt19937 rng(1);
  float scale;
  c.bytes = tern::test::make_weight(type, K, N, rng, &scale);
  c.w = {type, c.bytes.data(), c.bytes.size(), K, N, scale, nullptr};
  std::normal_distribution<float> nd;
  c.x.resize(T * K);
  for (auto& v : c.x) v = nd(rng);
  c.y.resize(T * N);
  return c;
}

// kernels == nullptr: the reference.
void run_matmul(benchmark::State& state, tern::DType type, const tern::cpu::CpuKernels* kernels) {
  if (kernels && !tern::cpu_features().has("rvv")) {
    state.SkipWithError("CPU lacks V");
    return;
  }
  Case c = make_case(type, size_t(state.range(0)), size_t(state.range(1)), size_t(state.range(2)));
  tern::ThreadPool pool(1);
  for (auto _ : state) {
    if (kernels)
      tern::cpu::matmul(*kernels, c.w, c.x.data(), c.y.data(), size_t(state.range(2)), false, pool);
    else
      tern::ref::matmul(c.w, c.x.data(), c.y.data(), size_t(state.range(2)), false, pool);
    benchmark::DoNotOptimize(c.y.data());
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(double(c.bytes.size()) * double(state.iterations()), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

void BM_MatmulReference(benchmark::State& s, tern::DType t) {
  run_matmul(s, t, nullptr);
}
void BM_MatmulRvv(benchmark::State& s, tern::DType t) {
  run_matmul(s, t, &tern::rvv::kRvvKernels);
}

#define TERN_RVV_BENCH(T)                                                                                \
  BENCHMARK_CAPTURE(BM_MatmulReference, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16}); \
  BENCHMARK_CAPTURE(BM_MatmulRvv, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16});
TERN_RVV_BENCH(I2_S)
TERN_RVV_BENCH(TQ2_0)
TERN_RVV_BENCH(TQ1_0)
TERN_RVV_BENCH(Q8_0)
TERN_RVV_BENCH(Q4_1)
TERN_RVV_BENCH(F16)

}  // namespace

BENCHMARK_MAIN();
