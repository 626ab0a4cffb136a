// End-to-end: real models generate what their reference implementations generate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>

#include "tern/error.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/sampler.h"
#include "tern/synthetic.h"
#include "tern/tokenizer.h"
#include "test_util.h"

using namespace tern;

namespace {

struct Generation {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<float> margins;  // per token: its logit minus the runner-up's
};

float top_two_margin(const std::vector<float>& logits) {
  std::vector<float> v = logits;
  std::partial_sort(v.begin(), v.begin() + 2, v.end(), std::greater<>());
  return v[0] - v[1];
}

Generation greedy(const std::string& model_path, const std::string& prompt, int n,
                  const std::string& backend = "", KvCacheTypes cache = {},
                  WeightPlacement placement = WeightPlacement::Mapped) {
  auto file = load_model_file(model_path);
  auto tok = Tokenizer::from_model_file(*file);
  Model model(std::move(file), Registry::instance().backend(backend), placement);
  Session s(model, 512, 2, cache);
  const auto ids = tok->encode(prompt, tok->vocab().add_bos);
  Generation g;
  g.text = prompt;
  const std::vector<float>* logits = &s.eval(ids);
  for (int i = 0; i < n; ++i) {
    const int32_t next = argmax(*logits);
    if (tok->is_end_of_generation(next)) break;
    g.tokens.push_back(next);
    g.margins.push_back(top_two_margin(*logits));
    g.text += tok->token_to_piece(next);
    logits = &s.eval({next});
  }
  return g;
}

std::string squash_spaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool space = std::isspace(static_cast<unsigned char>(c));
    if (!space)
      out += c;
    else if (out.empty() || out.back() != ' ')
      out += ' ';
  }
  return out;
}

// Expected outputs from ../shared/models/README.md (the original authors' C implementation).
const std::pair<const char*, const char*> kExpected[] = {
    {"Once upon a time",
     "Once upon a time, there was a little girl named Lily. She loved to play outside and explore the world "
     "around her. One day, she saw a big, red ball. She was so happy and wanted to play"},
    {"The capital of France is",
     "The capital of France is a big, red castle. He liked to play with his friends, the cat and the cats. "
     "They all played together and had fun. One day,"},
    {"One day, a little dog",
     "One day, a little dog named Spot saw a big, red ball. He wanted to play with it, but it was too heavy "
     "for him. Spot was sad because he wanted to play with the ball. S"},
};

class BitnetTinyStories : public ::testing::TestWithParam<std::string> {};

// With an F32 KV cache, as the C reference computes.
TEST_P(BitnetTinyStories, ReproducesReferenceGreedyOutput) {
  const std::string path = test::shared_dir() + "/models/bitnet-tinystories-3m-" + GetParam();
  auto file = load_model_file(path);
  auto tok = Tokenizer::from_model_file(*file);
  for (const auto& [prompt, expected] : kExpected) {
    const Generation g = greedy(path, prompt, 40, "", {DType::F32, DType::F32});
    // Compare the first 30 generated tokens' worth of text (whitespace runs normalized: the reference output
    // was recorded with newlines flattened).
    ASSERT_GE(g.tokens.size(), 30u) << prompt;
    std::vector<int32_t> first30(g.tokens.begin(), g.tokens.begin() + 30);
    const std::string got = squash_spaces(prompt + tok->decode(first30));
    const std::string want = squash_spaces(expected);
    EXPECT_EQ(want.substr(0, got.size()), got) << "prompt: " << prompt;
  }
}

// The default F16 KV cache generates the F32 cache's 30 greedy tokens. Its logits move by a few percent of
// their RMS (KvCache.CompactCachesStayCloseToF32), so the one thing it may change is a near-tie: where the
// two part, the F32 run's top two tokens must be within kNearTie logits. The packed layout, which holds the
// original model's scales exactly, must not part at all.
TEST_P(BitnetTinyStories, DefaultF16CacheKeepsTheGreedyOutput) {
  constexpr float kNearTie = 0.05f;
  const std::string path = test::shared_dir() + "/models/bitnet-tinystories-3m-" + GetParam();
  for (const auto& [prompt, expected] : kExpected) {
    const Generation f32 = greedy(path, prompt, 30, "", {DType::F32, DType::F32});
    const Generation f16 = greedy(path, prompt, 30, "", {});
    ASSERT_EQ(f16.tokens.size(), f32.tokens.size()) << prompt;
    size_t same = 0;
    while (same < f32.tokens.size() && f16.tokens[same] == f32.tokens[same]) ++same;
    if (same == f32.tokens.size()) continue;
    EXPECT_NE(GetParam(), "packed") << prompt << ": F16 parts from F32 at token " << same;
    EXPECT_LT(f32.margins[same], kNearTie) << prompt << ": F16 parts from F32 at token " << same
                                           << ", which F32 picks by " << f32.margins[same] << " logits";
    std::printf("[ kv cache ] %s, \"%s\": F16 keeps %zu tokens, then parts at a near-tie (F32 margin %.3f)\n",
                GetParam().c_str(), prompt, same, f32.margins[same]);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, BitnetTinyStories, ::testing::Values("packed", "bf16"));

TEST(SmolLM2, KnowsTheCapitalOfFrance) {
  const std::string path = test::source_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run scripts/setup.sh";
  const Generation g = greedy(path, "The capital of France is", 16);
  EXPECT_NE(g.text.find("Paris"), std::string::npos) << g.text;
}

// Weights copied into huge-page memory (run / serve / bench's default) are the same bytes: the same logits at
// every step, for a GGUF file (a shared file mapping, whose pages the copy drops; SmolLM2's tied embeddings
// share one copy) and a Hugging Face checkpoint converted at load (heap buffers, which it must leave intact).
TEST(Models, WeightsInMemoryGiveTheMappedWeightsLogits) {
  for (const std::string& path : {test::source_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf",
                                  test::shared_dir() + "/models/bitnet-tinystories-3m-packed"}) {
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run scripts/setup.sh";
    const Generation mapped = greedy(path, "Once upon a time", 12, "", {}, WeightPlacement::Mapped);
    const Generation copied = greedy(path, "Once upon a time", 12, "", {}, WeightPlacement::Memory);
    EXPECT_EQ(copied.tokens, mapped.tokens) << path;
    EXPECT_EQ(copied.margins, mapped.margins) << path;
  }
}

// The CPU plugins run TQ1_0 from a TQ2_0 copy made at load (WeightLayout::Backend, the default); --no-repack
// (WeightLayout::File) runs the file's base-3 bytes. Both give every usable backend's logits bit for bit, on
// a GGUF file (a shared file mapping, whose pages of the repacked weights are dropped).
TEST(Models, RepackedTq1WeightsGiveTheFileLayoutsLogits) {
  const std::string path = test::tmp_dir() + "/tiny-tq1_0.gguf";
  Registry::instance().format("gguf").write(
      make_synthetic_model(synthetic_preset("tiny"), DType::TQ1_0, DType::F16, 7), path);
  for (const std::string& backend : Registry::instance().usable_backends()) {
    std::vector<std::vector<float>> logits[2];
    for (WeightLayout layout : {WeightLayout::File, WeightLayout::Backend}) {
      Model model(load_model_file(path), Registry::instance().backend(backend), WeightPlacement::Mapped,
                  layout);
      const bool prepared = model.layers()[0].wq.prepared != nullptr;
      EXPECT_EQ(prepared, layout == WeightLayout::Backend && backend != "reference") << backend;
      Session s(model, 64, 2);
      auto& out = logits[layout == WeightLayout::Backend];
      out.push_back(s.eval({1, 2, 3, 4, 5}));                  // prefill
      for (int32_t t : {6, 7, 8}) out.push_back(s.eval({t}));  // decode
    }
    EXPECT_EQ(logits[1], logits[0]) << backend;
  }
}

// The x86 plugin decodes Q4_1 / Q8_0 against int16 activations (x86_kernels.h: quantize_blocks_i16_avx2); the
// reference uses float ones. One token at a time (decode, where the int16 dots run), the logits of the two
// stay within 2e-3 of the logits' RMS (measured: 4.4e-4; float activations gave 1.4e-5; 8-bit ones, as in
// llama.cpp, would be near 1e-2), and greedy decoding picks the same tokens.
TEST(SmolLM2, X86DecodeLogitsStayCloseToTheReference) {
  const std::string path = test::source_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run scripts/setup.sh";
  const auto usable = Registry::instance().usable_backends();
  if (std::find(usable.begin(), usable.end(), "x86-avx2") == usable.end()) GTEST_SKIP() << "no x86-avx2 here";
  auto decode = [&](const std::string& backend) {
    auto file = load_model_file(path);
    auto tok = Tokenizer::from_model_file(*file);
    Model model(std::move(file), Registry::instance().backend(backend));
    Session s(model, 64, 2, {DType::F32, DType::F32});  // F16 rounding would amplify the two's differences
    std::vector<std::vector<float>> logits;
    for (int32_t id : tok->encode("The capital of France is", tok->vocab().add_bos))
      logits.push_back(s.eval({id}));
    for (int i = 0; i < 6; ++i) logits.push_back(s.eval({argmax(logits.back())}));
    return logits;
  };
  const auto want = decode("reference"), got = decode("x86-avx2");
  ASSERT_EQ(got.size(), want.size());
  for (size_t t = 0; t < want.size(); ++t) {
    double square_sum = 0, max_diff = 0;
    for (size_t i = 0; i < want[t].size(); ++i) {
      square_sum += double(want[t][i]) * want[t][i];
      max_diff = std::max(max_diff, double(std::fabs(got[t][i] - want[t][i])));
    }
    EXPECT_LE(max_diff, 2e-3 * std::sqrt(square_sum / double(want[t].size()))) << "step " << t;
    EXPECT_EQ(argmax(got[t]), argmax(want[t])) << "step " << t;
  }
}

// What a compact KV cache costs: teacher-forced on the F32 cache's greedy continuation, every step's logits
// with F16 / Q8_0 keys and values stay within a stated fraction of the logits' RMS of the F32 cache's, and
// greedy decoding picks the same tokens. The fractions are about twice what was measured (the test prints
// it). BitNet's is larger at F16 since it quantizes the attention output to int8 again: a rounding flip of
// one activation moves the logits in a step.
TEST(KvCache, CompactCachesStayCloseToF32) {
  struct Case {
    std::string path, prompt;
    double tol_f16, tol_q8_0;
  };
  const Case cases[] = {
      {test::shared_dir() + "/models/bitnet-tinystories-3m-packed", "Once upon a time", 0.08, 0.15},
      {test::source_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf", "The capital of France is", 0.01,
       0.25}};
  for (const Case& c : cases) {
    auto file = load_model_file(c.path);
    auto tok = Tokenizer::from_model_file(*file);
    Model model(std::move(file), Registry::instance().backend(""));
    auto run = [&](KvCacheTypes cache, const std::vector<int32_t>& forced) {
      Session s(model, 128, 2, cache);
      std::vector<std::vector<float>> logits{s.eval(tok->encode(c.prompt, tok->vocab().add_bos))};
      for (int32_t id : forced) logits.push_back(s.eval({id}));
      return logits;
    };
    // The F32 cache's greedy run gives the tokens to force and the logits to compare with.
    std::vector<int32_t> f32_tokens;
    std::vector<std::vector<float>> want;
    {
      Session s(model, 128, 2, {DType::F32, DType::F32});
      want.push_back(s.eval(tok->encode(c.prompt, tok->vocab().add_bos)));
      for (int i = 0; i < 24; ++i) want.push_back(s.eval({f32_tokens.emplace_back(argmax(want.back()))}));
    }
    for (const auto& [cache, tol] : {std::pair{KvCacheTypes{DType::F16, DType::F16}, c.tol_f16},
                                     {KvCacheTypes{DType::Q8_0, DType::Q8_0}, c.tol_q8_0},
                                     {KvCacheTypes{DType::Q8_0, DType::F16}, c.tol_q8_0}}) {
      const auto got = run(cache, f32_tokens);
      double worst = 0;
      for (size_t t = 0; t < want.size(); ++t) {
        double square_sum = 0, max_diff = 0;
        for (size_t i = 0; i < want[t].size(); ++i) {
          square_sum += double(want[t][i]) * want[t][i];
          max_diff = std::max(max_diff, double(std::fabs(got[t][i] - want[t][i])));
        }
        const double rel = max_diff / std::sqrt(square_sum / double(want[t].size()));
        worst = std::max(worst, rel);
        EXPECT_LE(rel, tol) << c.path << " k " << dtype_name(cache.k) << " v " << dtype_name(cache.v)
                            << " step " << t;
        if (t < f32_tokens.size()) {
          EXPECT_EQ(argmax(got[t]), f32_tokens[t]) << c.path << " k " << dtype_name(cache.k) << " step " << t;
        }
      }
      std::printf("[ kv cache ] %s k %s v %s: largest logit change %.2e of the logits' RMS\n",
                  std::filesystem::path(c.path).filename().c_str(), dtype_name(cache.k), dtype_name(cache.v),
                  worst);
    }
  }
}

TEST(KvCache, RefusesTypesTheModelCannotHold) {
  Model model(load_model_file(test::shared_dir() + "/models/bitnet-tinystories-3m-packed"),
              Registry::instance().backend("reference"));
  EXPECT_THROW(Session(model, 8, 1, {DType::Q4_0, DType::F16}), Error);
  EXPECT_THROW(Session(model, 8, 1, {DType::F16, DType::I2_S}), Error);
  HParams hp = model.hparams();
  hp.head_dim = 48;
  try {
    check_kv_cache_type(hp, DType::Q8_0, "--cache-type-v");
    FAIL() << "q8_0 with head_dim 48 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--cache-type-v q8_0 needs a head size that is a multiple of 32"),
              std::string::npos)
        << e.what();
  }
}

TEST(Backends, EveryUsableBackendGeneratesTheSameGreedyTokens) {
  const std::string path = test::shared_dir() + "/models/bitnet-tinystories-3m-packed";
  const auto want = greedy(path, "Once upon a time", 30, "reference").tokens;
  const auto names = Registry::instance().usable_backends();
  // Set by CTest where a test-only plugin (the AVX-512 kernels on SIMDe) must be among them.
  if (const char* expected = std::getenv("TERN_EXPECT_BACKEND")) {
    ASSERT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected << " was not loaded";
  }
  for (const auto& name : names) EXPECT_EQ(greedy(path, "Once upon a time", 30, name).tokens, want) << name;
}

// Continuous batching: decoding three streams in one batched pass gives each the logits it gets alone. The
// ternary projections are exact at any batch size; the float LM head may sum in another order for a batch.
TEST(Sessions, BatchedDecodeMatchesSeparateDecoding) {
  const std::string path = test::shared_dir() + "/models/bitnet-tinystories-3m-packed";
  for (const std::string backend : {"reference", ""}) {
    auto file = load_model_file(path);
    auto tok = Tokenizer::from_model_file(*file);
    Model model(std::move(file), Registry::instance().backend(backend));
    ThreadPool pool(2);
    const char* prompts[] = {"Once upon a time", "The capital of France is", "One day, a little dog"};
    std::vector<std::unique_ptr<Session>> alone, batched;
    std::vector<int32_t> next_alone, next_batched;
    for (const char* p : prompts) {
      const auto ids = tok->encode(p, tok->vocab().add_bos);
      alone.push_back(std::make_unique<Session>(model, 128, pool));
      batched.push_back(std::make_unique<Session>(model, 128, pool));
      next_alone.push_back(argmax(alone.back()->eval(ids)));
      next_batched.push_back(argmax(batched.back()->eval(ids)));
    }
    const float tol = backend == "reference" ? 0.0f : 1e-3f;
    for (int step = 0; step < 12; ++step) {
      std::vector<Session*> sessions;
      for (auto& s : batched) sessions.push_back(s.get());
      Session::decode_batch(sessions, next_batched);
      for (size_t i = 0; i < alone.size(); ++i) {
        const auto& want = alone[i]->eval({next_alone[i]});
        const auto& got = batched[i]->logits();
        float worst = 0;
        for (size_t j = 0; j < want.size(); ++j) worst = std::max(worst, std::fabs(want[j] - got[j]));
        EXPECT_LE(worst, tol) << backend << " stream " << i << " step " << step;
        next_alone[i] = argmax(want);
        next_batched[i] = argmax(got);
        EXPECT_EQ(next_batched[i], next_alone[i]) << backend << " stream " << i << " step " << step;
        EXPECT_EQ(batched[i]->position(), alone[i]->position());
      }
    }
  }
}

TEST(Sessions, BatchedDecodeRefusesBadBatches) {
  const std::string path = test::shared_dir() + "/models/bitnet-tinystories-3m-packed";
  Model model(load_model_file(path), Registry::instance().backend("reference"));
  ThreadPool pool(1);
  Session a(model, 4, pool);
  EXPECT_THROW(Session::decode_batch({&a, &a}, {1, 2}), Error);
  EXPECT_THROW(Session::decode_batch({&a}, {1, 2}), Error);
  for (int i = 0; i < 4; ++i) Session::decode_batch({&a}, {1});
  EXPECT_THROW(Session::decode_batch({&a}, {1}), Error);  // context full
}

}  // namespace
