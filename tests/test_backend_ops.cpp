// One conformance suite for every backend (after llama.cpp's test-backend-ops): each usable plugin x each op
// x each weight type it claims, on ragged random shapes, through the Backend interface, against the reference
// plugin. Types come from the dtype table, backends from the registry: a new type or plugin is covered by
// existing. Tolerances: matmul on ternary weights is exact (integer dots, the reference's float epilogue);
// matmul on float weights within 1e-4 relative (other summation orders, int16 activations); every other op
// exact, since greedy outputs must not depend on the backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "random_weights.h"
#include "tern/cpu_features.h"
#include "tern/registry.h"
#include "tern/thread_pool.h"

using namespace tern;

namespace {

// The build's test-only plugins (TERN_TEST_PLUGIN_DIR, e.g. x86-avx512 on SIMDe) join the installed ones.
// Set before the registry's first scan, which happens while the tests are being listed.
Registry& registry() {
  static Registry& r = []() -> Registry& {
#if defined(TERN_TEST_PLUGIN_DIR)
    const char* old = std::getenv("TERN_PLUGIN_PATH");
    std::string path = TERN_TEST_PLUGIN_DIR;
    if (old && *old) path += std::string(":") + old;
    setenv("TERN_PLUGIN_PATH", path.c_str(), 1);
#endif
    return Registry::instance();
  }();
  return r;
}

std::vector<std::string> backends_under_test() {
  std::vector<std::string> names;
  for (const auto& n : registry().usable_backends())
    if (n != "reference") names.push_back(n);
  if (names.empty()) names.push_back("reference");  // the suite then checks the reference against itself
  return names;
}

std::string mismatch(const char* what, const std::vector<float>& got, const std::vector<float>& want,
                     float rel_tol) {
  for (size_t i = 0; i < want.size(); ++i) {
    const float a = got[i], b = want[i];
    const bool ok = rel_tol == 0 ? (a == b || (std::isnan(a) && std::isnan(b)))
                                 : std::fabs(a - b) <= rel_tol * (1.0f + std::fabs(b));
    if (!ok)
      return std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(a) + ", want " +
             std::to_string(b);
  }
  return "";
}

std::vector<float> normal(size_t n, std::mt19937& rng, float sd = 1.0f) {
  std::normal_distribution<float> nd(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// A row length for type t: whole blocks of one to six (I2_S, TQ*) or one to nine (Q*); anything for the rest.
size_t random_k(DType t, std::mt19937& rng) {
  const size_t block = dtype_traits(t)->block_size;
  if (block == 1) return 1 + rng() % 700;
  return block * (1 + rng() % (block >= 128 ? 6 : 9));
}

class BackendOps : public ::testing::TestWithParam<std::string> {
 protected:
  // w as the file stores it, and the backend's prepared copy of it if prepare makes one (--no-repack runs
  // the first, the default the second): both must match the reference.
  std::vector<WeightView> as_stored_and_prepared(const WeightView& w) const {
    WeightView p = w;
    backend_->prepare(p);
    if (!p.prepared) return {w};
    return {w, p};
  }
  void SetUp() override {
    backend_ = registry().backend(GetParam());
    reference_ = registry().backend("reference");
  }
  std::shared_ptr<Backend> backend_, reference_;
  ThreadPool pool_{2};
  std::mt19937 rng_{1234};
};

TEST_P(BackendOps, Matmul) {
  for (const DTypeTraits& tr : all_dtypes()) {
    if (!backend_->supports(tr.type)) continue;
    const float tol = tr.ternary ? 0.0f : 1e-4f;
    // Decode, four streams' batched decode, small batches (ragged token tiles), and batches big enough for
    // prefill GEMM paths.
    for (size_t T : {size_t(1), size_t(4), 2 + rng_() % 10, 33 + rng_() % 48})
      for (bool qa : {false, true}) {
        const size_t K = random_k(tr.type, rng_), N = 1 + rng_() % 100;
        float scale;
        auto bytes = test::make_weight(tr.type, K, N, rng_, &scale);
        WeightView w{tr.type, bytes.data(), bytes.size(), K, N, scale, nullptr}, wr = w;
        reference_->prepare(wr);
        const auto x = normal(T * K, rng_);
        std::vector<float> y_ref(T * N);
        reference_->matmul(wr, x.data(), y_ref.data(), T, qa, pool_);
        for (const WeightView& v : as_stored_and_prepared(w)) {
          std::vector<float> y(T * N, NAN);
          backend_->matmul(v, x.data(), y.data(), T, qa, pool_);
          EXPECT_EQ(mismatch("y", y, y_ref, tol), "")
              << tr.name << (v.prepared ? " prepared" : "") << " K=" << K << " N=" << N << " T=" << T
              << " qa=" << qa;
        }
      }
  }
}

// Ternary types with dots large enough that each group's scale x dot rounds: the float epilogue must do the
// reference's operations, unfused, in its order (make_large_dot_weight says why).
TEST_P(BackendOps, MatmulLargeDots) {
  for (const DTypeTraits& tr : all_dtypes()) {
    if (!tr.ternary || !backend_->supports(tr.type)) continue;
    for (size_t T : {size_t(1), 2 + rng_() % 10, 33 + rng_() % 48}) {
      const size_t K = 256 * (4 + rng_() % 8), N = 1 + rng_() % 100;
      float scale;
      auto bytes = test::make_large_dot_weight(tr.type, K, N, rng_, &scale);
      WeightView w{tr.type, bytes.data(), bytes.size(), K, N, scale, nullptr}, wr = w;
      reference_->prepare(wr);
      std::uniform_real_distribution<float> positive(0.5f, 1.0f);
      std::vector<float> x(T * K);
      for (auto& v : x) v = positive(rng_);
      std::vector<float> y_ref(T * N);
      reference_->matmul(wr, x.data(), y_ref.data(), T, true, pool_);
      for (const WeightView& v : as_stored_and_prepared(w)) {
        std::vector<float> y(T * N, NAN);
        backend_->matmul(v, x.data(), y.data(), T, true, pool_);
        EXPECT_EQ(mismatch("y", y, y_ref, 0.0f), "")
            << tr.name << (v.prepared ? " prepared" : "") << " K=" << K << " N=" << N << " T=" << T;
      }
    }
  }
}

TEST_P(BackendOps, MatmulMulti) {
  for (const DTypeTraits& tr : all_dtypes()) {
    if (!backend_->supports(tr.type)) continue;
    const float tol = tr.ternary ? 0.0f : 1e-4f;
    for (size_t T : {size_t(1), 3 + rng_() % 5, 40 + rng_() % 30}) {
      const size_t K = random_k(tr.type, rng_);
      std::vector<std::vector<uint8_t>> bytes(3);
      std::vector<WeightView> w(3);
      std::vector<std::vector<float>> y(3), y_ref(3);
      const auto x = normal(T * K, rng_);
      for (size_t i = 0; i < 3; ++i) {
        const size_t N = 1 + rng_() % 70;
        float scale;
        bytes[i] = test::make_weight(tr.type, K, N, rng_, &scale);
        w[i] = {tr.type, bytes[i].data(), bytes[i].size(), K, N, scale, nullptr};
        WeightView wr = w[i];
        reference_->prepare(wr);
        y_ref[i].resize(T * N);
        reference_->matmul(wr, x.data(), y_ref[i].data(), T, true, pool_);
        backend_->prepare(w[i]);
        y[i].assign(T * N, NAN);
      }
      const WeightView* ws[] = {&w[0], &w[1], &w[2]};
      float* const ys[] = {y[0].data(), y[1].data(), y[2].data()};
      backend_->matmul_multi(ws, ys, 3, x.data(), T, true, pool_);
      for (size_t i = 0; i < 3; ++i)
        EXPECT_EQ(mismatch("y", y[i], y_ref[i], tol), "")
            << tr.name << " weight " << i << " K=" << K << " T=" << T;
    }
  }
}

TEST_P(BackendOps, GetRows) {
  for (const DTypeTraits& tr : all_dtypes()) {
    if (!backend_->supports(tr.type)) continue;
    const size_t K = random_k(tr.type, rng_), N = 1 + rng_() % 50;
    float scale;
    auto bytes = test::make_weight(tr.type, K, N, rng_, &scale);
    const WeightView w{tr.type, bytes.data(), bytes.size(), K, N, scale, nullptr};
    std::vector<int32_t> ids(7);
    for (auto& id : ids) id = int32_t(rng_() % N);
    std::vector<float> want(ids.size() * K);
    reference_->get_rows(w, ids.data(), ids.size(), want.data());
    for (const WeightView& v : as_stored_and_prepared(w)) {
      std::vector<float> got(ids.size() * K);
      backend_->get_rows(v, ids.data(), ids.size(), got.data());
      EXPECT_EQ(mismatch("rows", got, want, 0), "")
          << tr.name << (v.prepared ? " prepared" : "") << " K=" << K;
    }
  }
}

TEST_P(BackendOps, RmsNorm) {
  for (int trial = 0; trial < 6; ++trial) {
    // decode, a few tokens, and batches past the eight-token groups of vector kernels
    const size_t T = trial < 2 ? 1 + rng_() % 5 : 8 + rng_() % 30, dim = 1 + rng_() % 300;
    const auto x = normal(T * dim, rng_), weight = normal(dim, rng_);
    std::vector<float> got(T * dim), want(T * dim);
    backend_->rms_norm(x.data(), weight.data(), got.data(), T, dim, 1e-5f);
    reference_->rms_norm(x.data(), weight.data(), want.data(), T, dim, 1e-5f);
    EXPECT_EQ(mismatch("y", got, want, 0), "") << "dim=" << dim;
  }
}

TEST_P(BackendOps, Rope) {
  for (RopeStyle style : {RopeStyle::Interleaved, RopeStyle::RotateHalf})
    for (int trial = 0; trial < 3; ++trial) {
      const size_t T = 1 + rng_() % 6, heads = 1 + rng_() % 4, hd = 2 * (1 + rng_() % 40);
      std::vector<int32_t> pos(T);
      for (auto& p : pos) p = int32_t(rng_() % 2000);
      auto got = normal(T * heads * hd, rng_), want = got;
      backend_->rope(got.data(), T, heads, hd, pos.data(), 10000.0f, style);
      reference_->rope(want.data(), T, heads, hd, pos.data(), 10000.0f, style);
      EXPECT_EQ(mismatch("x", got, want, 0), "") << "style=" << int(style) << " head_dim=" << hd;
    }
}

TEST_P(BackendOps, Attention) {
  // Every KV cache type for keys and for values; head sizes that are and are not multiples of a vector (Q8_0
  // takes multiples of its block); grouped-query heads; a cache already holding tokens; decode and batches.
  for (DType k_type : kv_cache_types())
    for (DType v_type : kv_cache_types())
      for (size_t hd : {size_t(8), size_t(64), size_t(13), size_t(48), size_t(32), size_t(96)}) {
        if (hd % dtype_traits(k_type)->block_size || hd % dtype_traits(v_type)->block_size) continue;
        for (size_t n_tokens : {size_t(1), size_t(5)}) {
          const size_t kv_heads = 1 + rng_() % 2, n_head = kv_heads * (1 + rng_() % 3), pos0 = rng_() % 40;
          const size_t n_ctx = pos0 + n_tokens, kv_dim = kv_heads * hd;
          const auto q = normal(n_tokens * n_head * hd, rng_);
          std::vector<uint8_t> k(n_ctx * dtype_row_bytes(k_type, kv_dim)),
              v(n_ctx * dtype_row_bytes(v_type, kv_dim));
          quantize_matrix(k_type, normal(n_ctx * kv_dim, rng_).data(), k.data(), kv_dim, n_ctx);
          quantize_matrix(v_type, normal(n_ctx * kv_dim, rng_).data(), v.data(), kv_dim, n_ctx);
          std::vector<float> got(n_tokens * n_head * hd), want(got.size());
          AttentionArgs a{q.data(), k.data(), v.data(), got.data(), n_tokens,
                          pos0,     n_head,   kv_heads, hd,         1.0f / std::sqrt(float(hd)),
                          k_type,   v_type};
          backend_->attention(a, pool_);
          a.out = want.data();
          reference_->attention(a, pool_);
          EXPECT_EQ(mismatch("out", got, want, 0), "")
              << "k " << dtype_name(k_type) << " v " << dtype_name(v_type) << " head_dim=" << hd
              << " tokens=" << n_tokens;
        }
      }
}

TEST_P(BackendOps, GatedActivation) {
  for (Activation act : {Activation::Silu, Activation::Relu2}) {
    const size_t n = 1 + rng_() % 1000;
    const auto gate = normal(n, rng_, 3.0f), up = normal(n, rng_);
    std::vector<float> got(n), want(n);
    backend_->gated_activation(gate.data(), up.data(), got.data(), n, act);
    reference_->gated_activation(gate.data(), up.data(), want.data(), n, act);
    EXPECT_EQ(mismatch("out", got, want, 0), "") << "act=" << int(act) << " n=" << n;
  }
}

TEST_P(BackendOps, Add) {
  const size_t n = 1 + rng_() % 1000;
  const auto y = normal(n, rng_);
  auto got = normal(n, rng_), want = got;
  backend_->add(got.data(), y.data(), n);
  reference_->add(want.data(), y.data(), n);
  EXPECT_EQ(mismatch("x", got, want, 0), "");
}

// The plugins this build must find usable here (TERN_EXPECT_BACKENDS, from the build or, for runs on other
// emulated cores, the environment), so a plugin that silently fails to load fails the suite instead of
// shrinking it.
TEST(BackendOpsCoverage, ExpectedBackendsAreTested) {
  const char* expected = std::getenv("TERN_EXPECT_BACKENDS");
#if defined(TERN_EXPECT_BACKENDS)
  if (!expected) expected = TERN_EXPECT_BACKENDS;
#endif
  if (!expected || !*expected) GTEST_SKIP() << "no backends expected beyond the reference";
  const auto names = backends_under_test();
  std::string list = expected;
#if defined(__x86_64__)
  // The plugins for this CPU's features too: one that fails to load where it should would otherwise leave its
  // kernels untested here without a word.
  const auto& f = cpu_features();
  if (f.has("avx512f") && f.has("avx512bw") && f.has("avx512vl") && f.has("avx512vnni")) {
    list += " x86-avx512";
    if (f.has("avx512bf16") && f.has("amx_tile") && f.has("amx_int8") && f.has("amx_bf16"))
      list += " x86-amx";
  }
#endif
  for (size_t i = 0; i < list.size();) {
    const size_t j = std::min(list.find(' ', i), list.size());
    const std::string want = list.substr(i, j - i);
    if (!want.empty()) {
      EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want << " is not usable here";
    }
    i = j + 1;
  }
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendOps, ::testing::ValuesIn(backends_under_test()), param_name);

}  // namespace
