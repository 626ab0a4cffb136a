// RVV matmul through the CPU driver (rvv, and rvv-zvfhmin for F16) vs the scalar reference, on the same
// shapes in the same run (2B4T-like: K = 2560), single-threaded; without V it reports an error instead of
// running. Under qemu these times mean nothing: run it on RISC-V hardware (scripts/mca_kernels.py --arch
// riscv64 models the loops meanwhile, and scripts/qemu_icount.sh riscv64 counts instructions).
#include "cpu_matmul_bench.h"
#include "rvv_kernels.h"
#include "tern/cpu_features.h"

namespace {

void BM_MatmulReference(benchmark::State& s, tern::DType t) {
  tern::bench::run_matmul(s, t, nullptr);
}
void BM_MatmulRvv(benchmark::State& s, tern::DType t) {
  if (!tern::cpu_features().has("rvv")) return s.SkipWithError("CPU lacks V");
  tern::bench::run_matmul(s, t, &tern::rvv::kRvvKernels);
}
void BM_MatmulRvvZvfhmin(benchmark::State& s, tern::DType t) {
  if (!tern::cpu_features().has("rvv") || !tern::cpu_features().has("zvfhmin"))
    return s.SkipWithError("CPU lacks V or Zvfhmin");
  tern::bench::run_matmul(s, t, &tern::rvv::kRvvZvfhminKernels);
}
#define TERN_RVV_BENCH(T)                                                                                \
  BENCHMARK_CAPTURE(BM_MatmulReference, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16}); \
  BENCHMARK_CAPTURE(BM_MatmulRvv, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16});
TERN_RVV_BENCH(I2_S)
TERN_RVV_BENCH(TQ2_0)
TERN_RVV_BENCH(TQ1_0)
TERN_RVV_BENCH(TL1)
TERN_RVV_BENCH(Q8_0)
TERN_RVV_BENCH(Q4_1)
TERN_RVV_BENCH(F16)
BENCHMARK_CAPTURE(BM_MatmulRvvZvfhmin, F16, tern::DType::F16)->Args({2560, 512, 1})->Args({2560, 512, 16});

}  // namespace

BENCHMARK_MAIN();
