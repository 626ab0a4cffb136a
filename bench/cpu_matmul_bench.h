#pragma once
// What the per-ISA kernel benchmarks (backends/<isa>/bench/) share: a 2B4T-like matmul case of random weights
// and activations, timed through the CPU driver with a plugin's kernel table, or through the reference, on
// one thread. Callers check the CPU's features first.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "cpu_kernels.h"
#include "random_weights.h"
#include "reference_kernels.h"
#include "tern/thread_pool.h"

namespace tern::bench {

struct MatmulCase {
  std::vector<uint8_t> bytes;
  std::vector<float> x, y;
  WeightView w;
};

inline MatmulCase make_matmul_case(DType type, size_t K, size_t N, size_t T) {
  MatmulCase c;
  std::mt19937 rng(1);
  float scale;
  c.bytes = test::make_weight(type, K, N, rng, &scale);
  c.w = {type, c.bytes.data(), c.bytes.size(), K, N, scale, nullptr};
  std::normal_distribution<float> nd;
  c.x.resize(T * K);
  for (auto& v : c.x) v = nd(rng);
  c.y.resize(T * N);
  return c;
}

// state.range(0..2) = K, N, tokens; kernels == nullptr: the reference.
inline void run_matmul(benchmark::State& state, DType type, const cpu::CpuKernels* kernels) {
  const size_t T = size_t(state.range(2));
  MatmulCase c = make_matmul_case(type, size_t(state.range(0)), size_t(state.range(1)), T);
  ThreadPool pool(1);
  for (auto _ : state) {
    if (kernels)
      cpu::matmul(*kernels, c.w, c.x.data(), c.y.data(), T, false, pool);
    else
      ref::matmul(c.w, c.x.data(), c.y.data(), T, false, pool);
    benchmark::DoNotOptimize(c.y.data());
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(double(c.bytes.size()) * double(state.iterations()), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

}  // namespace tern::bench
