// Arm matmul through the CPU driver with each Arm kernel table vs the scalar reference, on the same shapes in
// the same run (2B4T-like: K = 2560), single-threaded; a variant the CPU lacks reports an error instead of
// running. Under qemu these times mean nothing: run it on Arm hardware (scripts/mca_kernels.py --arch aarch64
// models the loops meanwhile).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "arm_kernels.h"
#include "random_weights.h"
#include "reference_kernels.h"
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

// kernels == nullptr: the reference. `needs`: CPU features the table's kernels use.
void run_matmul(benchmark::State& state, tern::DType type, const tern::cpu::CpuKernels* kernels,
                const char* needs) {
  for (const char* f : {"dotprod", "i8mm"})
    if (needs && std::string(needs).find(f) != std::string::npos && !tern::cpu_features().has(f)) {
      state.SkipWithError("CPU lacks the variant's features");
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
  run_matmul(s, t, nullptr, nullptr);
}
void BM_MatmulNeon(benchmark::State& s, tern::DType t) {
  run_matmul(s, t, &tern::arm::kNeonKernels, "");
}
void BM_MatmulDotprod(benchmark::State& s, tern::DType t) {
  run_matmul(s, t, &tern::arm::kDotprodKernels, "dotprod");
}
void BM_MatmulI8mm(benchmark::State& s, tern::DType t) {
  run_matmul(s, t, &tern::arm::kI8mmKernels, "dotprod i8mm");
}

#define TERN_ARM_BENCH(T)                                                                                \
  BENCHMARK_CAPTURE(BM_MatmulReference, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16}); \
  BENCHMARK_CAPTURE(BM_MatmulNeon, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16});      \
  BENCHMARK_CAPTURE(BM_MatmulDotprod, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16});   \
  BENCHMARK_CAPTURE(BM_MatmulI8mm, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16});
TERN_ARM_BENCH(I2_S)
TERN_ARM_BENCH(TQ2_0)
TERN_ARM_BENCH(TQ1_0)
TERN_ARM_BENCH(TL1)
TERN_ARM_BENCH(Q4_1)
TERN_ARM_BENCH(F16)

}  // namespace

BENCHMARK_MAIN();
