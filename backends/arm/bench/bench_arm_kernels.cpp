// Arm matmul through the CPU driver with each Arm kernel table vs the scalar reference, on the same shapes in
// the same run (2B4T-like: K = 2560), single-threaded; a variant the CPU lacks reports an error instead of
// running. Under qemu these times mean nothing: run it on Arm hardware (scripts/mca_kernels.py --arch aarch64
// models the loops meanwhile).
#include <string>

#include "arm_kernels.h"
#include "cpu_matmul_bench.h"
#include "tern/cpu_features.h"

namespace {

// `needs`: CPU features the table's kernels use.
void run_variant(benchmark::State& state, tern::DType type, const tern::cpu::CpuKernels* kernels,
                 const char* needs) {
  for (const char* f : {"dotprod", "i8mm"})
    if (std::string(needs).find(f) != std::string::npos && !tern::cpu_features().has(f))
      return state.SkipWithError("CPU lacks the variant's features");
  tern::bench::run_matmul(state, type, kernels);
}

void BM_MatmulReference(benchmark::State& s, tern::DType t) {
  tern::bench::run_matmul(s, t, nullptr);
}
void BM_MatmulNeon(benchmark::State& s, tern::DType t) {
  run_variant(s, t, &tern::arm::kNeonKernels, "");
}
void BM_MatmulDotprod(benchmark::State& s, tern::DType t) {
  run_variant(s, t, &tern::arm::kDotprodKernels, "dotprod");
}
void BM_MatmulI8mm(benchmark::State& s, tern::DType t) {
  run_variant(s, t, &tern::arm::kI8mmKernels, "dotprod i8mm");
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
