// x86 matmul (AVX2, and AVX-512 VNNI on CPUs that have it) vs the scalar reference, and our prefill kernels
// vs oneDNN's GEMM, on the same shapes in the same run (2B4T-like: K=2560). Single-threaded, except where
// the name says threads:N or the argument is a thread count.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "amx_kernels.h"
#include "multiply_add_ceiling.h"
#include "reference_kernels.h"
#include "tern/cpu_features.h"
#include "tern/memory_bandwidth.h"
#include "tern/thread_pool.h"
#include "x86_kernels_avx512.h"

namespace {

struct Case {
  std::vector<uint8_t> bytes;
  std::vector<float> x, y;
  tern::WeightView w;
};

Case make_case(tern::DType type, size_t K, size_t N, size_t T) {
  Case c;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> w(K * N);
  for (auto& v : w) v = nd(rng);
  c.x.resize(T * K);
  c.y.resize(T * N);
  for (auto& v : c.x) v = nd(rng);
  const float scale = tern::ternary_absmean_scale(w.data(), w.size());
  c.bytes.resize(tern::dtype_tensor_bytes(type, K, N));
  tern::quantize_matrix(type, w.data(), c.bytes.data(), K, N, scale);
  c.w = {type, c.bytes.data(), c.bytes.size(), K, N, scale, nullptr};
  return c;
}

// kernels == nullptr: the reference.
void run_matmul(benchmark::State& state, tern::DType type, const tern::cpu::CpuKernels* kernels,
                tern::x86::OneDnnUse onednn = tern::x86::OneDnnUse::Never) {
  Case c = make_case(type, size_t(state.range(0)), size_t(state.range(1)), size_t(state.range(2)));
  const tern::cpu::CpuKernels table =
      tern::x86::with_onednn(kernels ? *kernels : tern::cpu::CpuKernels{}, onednn);
  tern::ThreadPool pool(1);
  for (auto _ : state) {
    if (kernels)
      tern::cpu::matmul(table, c.w, c.x.data(), c.y.data(), size_t(state.range(2)), false, pool);
    else
      tern::ref::matmul(c.w, c.x.data(), c.y.data(), size_t(state.range(2)), false, pool);
    benchmark::DoNotOptimize(c.y.data());
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(double(c.bytes.size()) * double(state.iterations()), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

// The AVX-512 benchmarks report an error instead of crashing on CPUs without it.
bool avx512_vnni_or_skip(benchmark::State& state) {
  const auto& f = tern::cpu_features();
  for (const char* x : {"avx512f", "avx512bw", "avx512vl", "avx512vnni"})
    if (!f.has(x)) {
      state.SkipWithError("CPU lacks AVX-512 F/BW/VL/VNNI");
      return false;
    }
  return true;
}

bool amx_or_skip(benchmark::State& state) {
  if (!avx512_vnni_or_skip(state)) return false;
  const auto& f = tern::cpu_features();
  if (!f.has("amx_int8") || !f.has("amx_bf16") || !f.has("avx512bf16")) {
    state.SkipWithError("no AMX-INT8 (or Linux did not grant the tile state)");
    return false;
  }
  return true;
}

void BM_MatmulReference(benchmark::State& state, tern::DType type) {
  run_matmul(state, type, nullptr);
}
void BM_MatmulAvx2(benchmark::State& state, tern::DType type) {
  run_matmul(state, type, &tern::x86::kAvx2Kernels);
}
void BM_MatmulAvx512Vnni(benchmark::State& state, tern::DType type) {
  if (!avx512_vnni_or_skip(state)) return;
  run_matmul(state, type, &tern::x86::kAvx512VnniKernels);
}
void BM_MatmulAmx(benchmark::State& state, tern::DType type) {
  if (!amx_or_skip(state)) return;
  // Auto: the AMX table's own batched GEMM (Q8_0 / Q4_0 / Q4_1) stays in; oneDNN is not preferred for the
  // rest.
  run_matmul(state, type, &tern::x86::kAmxKernels, tern::x86::OneDnnUse::Auto);
}
// Prefill through oneDNN's GEMM instead of our kernels: where this wins decides kOneDnnMinTokens*.
void BM_MatmulOneDnn(benchmark::State& state, tern::DType type) {
  run_matmul(state, type, &tern::x86::kAvx2Kernels, tern::x86::OneDnnUse::Always);
}

#define TERN_BENCH_PAIR(T)                                                                               \
  BENCHMARK_CAPTURE(BM_MatmulReference, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16}); \
  BENCHMARK_CAPTURE(BM_MatmulAvx2, T, tern::DType::T)                                                    \
      ->Args({2560, 512, 1})                                                                             \
      ->Args({2560, 512, 4})                                                                             \
      ->Args({2560, 512, 16});
#define TERN_BENCH_TERNARY(T) \
  TERN_BENCH_PAIR(T)          \
  BENCHMARK_CAPTURE(BM_MatmulAvx512Vnni, T, tern::DType::T)->Args({2560, 512, 1})->Args({2560, 512, 16});
TERN_BENCH_TERNARY(I2_S)
TERN_BENCH_TERNARY(TL2)
TERN_BENCH_TERNARY(TQ2_0)
TERN_BENCH_TERNARY(TQ1_0)
// Prefill batches: AMX against the AVX-512 VNNI tiles, same shapes, same run.
#define TERN_BENCH_AMX(T)                                   \
  BENCHMARK_CAPTURE(BM_MatmulAvx512Vnni, T, tern::DType::T) \
      ->Args({2560, 512, 4})                                \
      ->Args({2560, 512, 8})                                \
      ->Args({2560, 512, 16})                               \
      ->Args({2560, 512, 128});                             \
  BENCHMARK_CAPTURE(BM_MatmulAmx, T, tern::DType::T)        \
      ->Args({2560, 512, 4})                                \
      ->Args({2560, 512, 8})                                \
      ->Args({2560, 512, 16})                               \
      ->Args({2560, 512, 128});
TERN_BENCH_AMX(I2_S)
TERN_BENCH_AMX(TQ2_0)
TERN_BENCH_AMX(TQ1_0)
// Float-output types' prefill: AMX-BF16 with split activations against oneDNN's sgemm (x86-avx512's path).
BENCHMARK_CAPTURE(BM_MatmulOneDnn, Q4_1, tern::DType::Q4_1)->Args({2560, 512, 128});
BENCHMARK_CAPTURE(BM_MatmulAmx, Q4_1, tern::DType::Q4_1)->Args({2560, 512, 16})->Args({2560, 512, 128});
BENCHMARK_CAPTURE(BM_MatmulOneDnn, Q8_0, tern::DType::Q8_0)->Args({2560, 512, 128});
BENCHMARK_CAPTURE(BM_MatmulAmx, Q8_0, tern::DType::Q8_0)->Args({2560, 512, 128});
TERN_BENCH_PAIR(Q4_1)
TERN_BENCH_PAIR(Q4_ZP)
TERN_BENCH_PAIR(Q8_0)
TERN_BENCH_PAIR(F16)
TERN_BENCH_PAIR(BF16)
// Four streams' LM head / projections in one batched decode: row_dots against oneDNN (what 4 tokens took
// before) on the same shape.
BENCHMARK_CAPTURE(BM_MatmulOneDnn, F16, tern::DType::F16)->Args({2560, 512, 4});
BENCHMARK_CAPTURE(BM_MatmulAvx512Vnni, F16, tern::DType::F16)->Args({2560, 512, 1})->Args({2560, 512, 4});
// Decode as it runs in a model: weights streamed from DRAM, for one token or for the few streams of a batched
// decode (continuous batching), which should cost little more than one. Copies of one 2560 x 6912 matrix
// (2B4T's FFN shape) fill 512 MB, far past the caches, and each iteration takes the next copy. weight_GB/s
// against BM_ReadBandwidth (a plain streaming read, the generation bound's yardstick) in the same run is the
// fraction of the bound the kernel can reach. Arguments: threads (rows split over the runtime's pool, as in a
// model), tokens.
void BM_GemvFromMemoryAvx2(benchmark::State& state, tern::DType type) {
  constexpr size_t kTotalBytes = size_t(512) << 20;
  const size_t T = size_t(state.range(1));
  Case c = make_case(type, 2560, 6912, T);
  const size_t size = c.bytes.size(), copies = (kTotalBytes + size - 1) / size;
  std::vector<uint8_t> all(copies * size);
  for (size_t i = 0; i < copies; ++i) std::copy(c.bytes.begin(), c.bytes.end(), all.begin() + i * size);
  tern::ThreadPool pool(size_t(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    tern::WeightView w = c.w;
    w.data = all.data() + (i++ % copies) * size;
    tern::cpu::matmul(tern::x86::kAvx2Kernels, w, c.x.data(), c.y.data(), T, false, pool);
    benchmark::DoNotOptimize(c.y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      double(size) * double(state.iterations()), benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
void BM_ReadBandwidth(benchmark::State& state) {
  double bytes_per_s = 0;
  for (auto _ : state) bytes_per_s = tern::measure_read_bandwidth(size_t(state.range(0)), size_t(512) << 20);
  state.counters["GB/s"] = bytes_per_s / 1e9;
}
BENCHMARK(BM_ReadBandwidth)->Unit(benchmark::kMillisecond)->Iterations(1)->Arg(1)->Arg(2);
BENCHMARK_CAPTURE(BM_GemvFromMemoryAvx2, I2_S, tern::DType::I2_S)
    ->Unit(benchmark::kMicrosecond)
    ->ArgsProduct({{1, 2}, {1, 4}});
BENCHMARK_CAPTURE(BM_GemvFromMemoryAvx2, TL2, tern::DType::TL2)
    ->Unit(benchmark::kMicrosecond)
    ->ArgsProduct({{1, 2}, {1, 4}});
BENCHMARK_CAPTURE(BM_GemvFromMemoryAvx2, F16, tern::DType::F16)
    ->Unit(benchmark::kMicrosecond)
    ->ArgsProduct({{1, 2}, {1, 4}});

#define TERN_BENCH_PREFILL(T)                           \
  BENCHMARK_CAPTURE(BM_MatmulAvx2, T, tern::DType::T)   \
      ->Args({2560, 512, 4})                            \
      ->Args({2560, 512, 32})                           \
      ->Args({2560, 512, 128});                         \
  BENCHMARK_CAPTURE(BM_MatmulOneDnn, T, tern::DType::T) \
      ->Args({2560, 512, 4})                            \
      ->Args({2560, 512, 16})                           \
      ->Args({2560, 512, 32})                           \
      ->Args({2560, 512, 128});
// The I2_S prefill kernel alone, on weights and activations that fit in L1/L2: its arithmetic rate, in
// multiply-adds per second, without the memory hierarchy or the float epilogue.
void run_i2s_gemm_codes(benchmark::State& state,
                        void (*gemm_codes)(const uint8_t*, size_t, const int8_t*, size_t, size_t, int32_t*)) {
  const size_t k = size_t(state.range(0)), n_rows = size_t(state.range(1)), n_tokens = size_t(state.range(2));
  std::mt19937 rng(1);
  std::vector<uint8_t> rows(n_rows * k / 4);
  std::vector<int8_t> q(n_tokens * k);
  for (auto& b : rows) b = uint8_t(rng());
  for (auto& v : q) v = int8_t(rng());
  std::vector<int32_t> dots(n_rows * n_tokens);
  for (auto _ : state) {
    gemm_codes(rows.data(), n_rows, q.data(), n_tokens, k, dots.data());
    benchmark::DoNotOptimize(dots.data());
  }
  state.counters["MAC/s"] = benchmark::Counter(double(k * n_rows * n_tokens) * double(state.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
void BM_I2SGemmCodesAvx2(benchmark::State& state) {
  run_i2s_gemm_codes(state, tern::x86::i2s_gemm_codes_avx2);
}
void BM_I2SGemmCodesAvx512Vnni(benchmark::State& state) {
  if (!avx512_vnni_or_skip(state)) return;
  run_i2s_gemm_codes(state, tern::x86::i2s_gemm_codes_avx512vnni);
}
BENCHMARK(BM_I2SGemmCodesAvx2)->Args({2560, 64, 4})->Args({2560, 64, 16});
BENCHMARK(BM_I2SGemmCodesAvx512Vnni)->Args({2560, 64, 4})->Args({2560, 64, 16})->Args({2560, 64, 128});
void BM_I2SGemmCodesAmx(benchmark::State& state) {
  if (!amx_or_skip(state)) return;
  run_i2s_gemm_codes(state, tern::x86::i2s_gemm_codes_amx);
}
BENCHMARK(BM_I2SGemmCodesAmx)->Args({2560, 64, 16})->Args({2560, 64, 128});

// What BM_I2SGemmCodes* would reach with free loads, decoding and reductions (multiply_add_ceiling.h). Run on
// one and two threads at once: MAC/s is the total.
void run_multiply_add_ceiling(benchmark::State& state, int32_t (*ceiling)(size_t), double macs_per_step) {
  constexpr size_t kSteps = 1 << 16;
  for (auto _ : state) benchmark::DoNotOptimize(ceiling(kSteps));
  state.counters["MAC/s"] = benchmark::Counter(macs_per_step * kSteps * double(state.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
void BM_MultiplyAddCeilingAvx2(benchmark::State& state) {
  run_multiply_add_ceiling(state, tern::x86::multiply_add_ceiling_avx2, 8 * 32);
}
void BM_MultiplyAddCeilingAvx512Vnni(benchmark::State& state) {
  if (!avx512_vnni_or_skip(state)) return;
  run_multiply_add_ceiling(state, tern::x86::multiply_add_ceiling_avx512vnni, 16 * 64);
}
BENCHMARK(BM_MultiplyAddCeilingAvx2)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_MultiplyAddCeilingAvx512Vnni)->ThreadRange(1, 2)->UseRealTime();
void BM_MultiplyAddCeilingAmx(benchmark::State& state) {
  if (!amx_or_skip(state)) return;
  run_multiply_add_ceiling(state, tern::x86::multiply_add_ceiling_amx, 4 * 16 * 16 * 64);
}
BENCHMARK(BM_MultiplyAddCeilingAmx)->ThreadRange(1, 2)->UseRealTime();

// A prefill batch's norm (128 tokens of 2B4T's 2560): the reference's one add chain at a time against eight
// tokens' chains side by side.
void run_rms_norm(benchmark::State& state,
                  void (*rms_norm)(const float*, const float*, float*, size_t, size_t, float)) {
  const size_t T = 128, dim = 2560;
  std::vector<float> x(T * dim, 0.5f), w(dim, 1.5f), y(T * dim);
  for (auto _ : state) {
    rms_norm(x.data(), w.data(), y.data(), T, dim, 1e-5f);
    benchmark::DoNotOptimize(y.data());
  }
}
void BM_RmsNormReference(benchmark::State& state) {
  run_rms_norm(state, tern::ref::rms_norm);
}
void BM_RmsNormAvx2(benchmark::State& state) {
  run_rms_norm(state, tern::x86::rms_norm_avx2);
}
BENCHMARK(BM_RmsNormReference);
BENCHMARK(BM_RmsNormAvx2);

// n standard normal floats; different seeds give independent vectors.
std::vector<float> normal_floats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// Attention of 2B4T's 20 query heads over 5 KV heads of 128: one decode step at a context of range(0) keys,
// and a prefill of range(1) tokens after range(0) - range(1) cached ones, on a cache of
// kv_cache_types()[range(2)] (the label says which): bytes per key fall 2x with F16 and 3.8x with Q8_0.
void run_attention(benchmark::State& state, bool x86) {
  const size_t n_ctx = size_t(state.range(0)), n_tokens = size_t(state.range(1)), n_head = 20, n_head_kv = 5,
               hd = 128, kv_dim = n_head_kv * hd;
  const tern::DType cache = tern::kv_cache_types()[size_t(state.range(2))];
  const std::vector<float> q = normal_floats(n_tokens * n_head * hd, 1),
                           kf = normal_floats(n_ctx * kv_dim, 2), vf = normal_floats(kf.size(), 3);
  std::vector<uint8_t> k(n_ctx * tern::dtype_row_bytes(cache, kv_dim)), v(k.size());
  tern::quantize_matrix(cache, kf.data(), k.data(), kv_dim, n_ctx);
  tern::quantize_matrix(cache, vf.data(), v.data(), kv_dim, n_ctx);
  std::vector<float> out(q.size());
  const tern::AttentionArgs a{q.data(), k.data(),
                              v.data(), out.data(),
                              n_tokens, n_ctx - n_tokens,
                              n_head,   n_head_kv,
                              hd,       1.0f / std::sqrt(float(hd)),
                              cache,    cache};
  tern::ThreadPool pool(1);
  for (auto _ : state) {
    if (x86)
      tern::cpu::attention(tern::x86::kAvx2Kernels.attention, a, pool);
    else
      tern::ref::attention(a, pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(tern::dtype_name(cache));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(k.size() + v.size()));
}
void BM_AttentionReference(benchmark::State& state) {
  run_attention(state, false);
}
void BM_AttentionAvx2(benchmark::State& state) {
  run_attention(state, true);
}
BENCHMARK(BM_AttentionReference)->Args({64, 1, 0})->Args({512, 1, 0})->Args({512, 1, 1})->Args({512, 64, 0});
BENCHMARK(BM_AttentionAvx2)
    ->ArgsProduct({{512, 4096}, {1}, {0, 1, 2}})
    ->Args({64, 1, 0})
    ->Args({512, 64, 0})
    ->Args({512, 64, 1});

// The element-wise kernels of one decode step, at 2B4T's FFN width: int8 activation quantization (before
// every ternary matmul) and relu^2(gate) * up.
void run_quantize(benchmark::State& state, bool x86) {
  const std::vector<float> x = normal_floats(6912, 1);
  std::vector<int8_t> q(x.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(x86 ? tern::x86::quantize_activations_avx2(x.data(), q.data(), x.size())
                                 : tern::ref::quantize_activations_i8(x.data(), q.data(), x.size()));
    benchmark::DoNotOptimize(q.data());
  }
}
void BM_QuantizeActivationsReference(benchmark::State& state) {
  run_quantize(state, false);
}
void BM_QuantizeActivationsAvx2(benchmark::State& state) {
  run_quantize(state, true);
}
BENCHMARK(BM_QuantizeActivationsReference);
BENCHMARK(BM_QuantizeActivationsAvx2);
void run_relu2(benchmark::State& state, bool x86) {
  const std::vector<float> gate = normal_floats(6912, 1), up = normal_floats(6912, 2);
  std::vector<float> out(gate.size());
  for (auto _ : state) {
    if (x86)
      tern::x86::gated_activation_avx2(gate.data(), up.data(), out.data(), out.size(),
                                       tern::Activation::Relu2);
    else
      tern::ref::gated_activation(gate.data(), up.data(), out.data(), out.size(), tern::Activation::Relu2);
    benchmark::DoNotOptimize(out.data());
  }
}
void BM_GatedReluSquaredReference(benchmark::State& state) {
  run_relu2(state, false);
}
void BM_GatedReluSquaredAvx2(benchmark::State& state) {
  run_relu2(state, true);
}
BENCHMARK(BM_GatedReluSquaredReference);
BENCHMARK(BM_GatedReluSquaredAvx2);

TERN_BENCH_PREFILL(I2_S)
TERN_BENCH_PREFILL(F16)
TERN_BENCH_PREFILL(Q4_1)
TERN_BENCH_PREFILL(Q4_ZP)

}  // namespace

BENCHMARK_MAIN();
