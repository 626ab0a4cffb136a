// The pure functions behind export / quantize / validate: SHA-256, the q/k RoPE permutation, ternary
// quantization that keeps already-ternary tensors exact, and the health checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "tern/convert.h"
#include "tern/health.h"
#include "tern/sha256.h"

namespace tern {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Split updates hash like one.
  std::string million(1000000, 'a');
  Sha256 h;
  for (size_t i = 0; i < million.size(); i += 777)
    h.update(million.data() + i, std::min<size_t>(777, million.size() - i));
  EXPECT_EQ(h.finish_hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Convert, RotateHalfToInterleavedIsLlamaCppsPermutation) {
  // llama.cpp: w.reshape(n_head, 2, head_dim / 2, k).swapaxes(1, 2): new row 2i + j of a head = old row
  // j*half + i.
  const size_t n_head = 3, head_dim = 8, k = 2;
  std::vector<float> w(n_head * head_dim * k);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(i);
  auto orig = w;
  permute_qk_rows(w.data(), k, n_head, head_dim, RopeStyle::RotateHalf, RopeStyle::Interleaved);
  for (size_t h = 0; h < n_head; ++h)
    for (size_t i = 0; i < head_dim / 2; ++i)
      for (size_t j = 0; j < 2; ++j)
        for (size_t c = 0; c < k; ++c)
          EXPECT_EQ(w[(h * head_dim + 2 * i + j) * k + c],
                    orig[(h * head_dim + j * head_dim / 2 + i) * k + c]);
  // The inverse (re-exporting a BitNet GGUF that tern wrote interleaved) restores the original rows.
  permute_qk_rows(w.data(), k, n_head, head_dim, RopeStyle::Interleaved, RopeStyle::RotateHalf);
  EXPECT_EQ(w, orig);
}

ModelFile one_tensor_model(const std::string& name, std::vector<float>& values, size_t k) {
  ModelFile f;
  f.path = "test.gguf";
  TensorInfo t;
  t.name = name;
  t.type = DType::F32;
  t.ne = {k, values.size() / k};
  t.data = reinterpret_cast<const uint8_t*>(values.data());
  t.nbytes = values.size() * 4;
  f.tensors.push_back(t);
  return f;
}

std::vector<float> dequantized(const TensorInfo& t) {
  std::vector<float> out(t.n_elements());
  dequantize_matrix(t.type, t.data, out.data(), t.ne[0], t.n_rows());
  return out;
}

TEST(Convert, QuantizeKeepsTernaryTensorsExactlyInEveryType) {
  const size_t k = 512, n = 6;
  const float scale = 0.0123f;
  std::mt19937 rng(1);
  std::vector<float> w(k * n);
  for (auto& v : w) v = float(int(rng() % 3) - 1) * scale;
  for (DType t : {DType::I2_S, DType::TQ1_0, DType::TQ2_0}) {
    auto src = one_tensor_model("blk.0.ffn_up.weight", w, k);
    QuantizeReport rep;
    const auto q = quantize_ternary(src, t, {}, &rep);
    ASSERT_EQ(rep.quantized.size(), 1u);
    EXPECT_TRUE(rep.quantized[0].exact);
    EXPECT_EQ(q.tensors[0].type, t);
    const auto back = dequantized(q.tensors[0]);
    for (size_t i = 0; i < w.size(); ++i) {
      ASSERT_EQ(std::signbit(back[i]) && back[i] != 0, w[i] < 0) << dtype_name(t) << " at " << i;
      ASSERT_NEAR(back[i], w[i], t == DType::I2_S ? 0.0f : scale * 1e-3f) << dtype_name(t) << " at " << i;
    }
  }
}

TEST(Convert, QuantizeLatentWeightsWithAbsmeanAndLeavesOthersAlone) {
  const size_t k = 256, n = 4;
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> w(k * n);
  for (auto& v : w) v = nd(rng);
  auto src = one_tensor_model("blk.1.attn_q.weight", w, k);
  std::vector<float> norm(k, 1.0f);
  TensorInfo nt;
  nt.name = "blk.1.attn_norm.weight";
  nt.ne = {k};
  nt.data = reinterpret_cast<const uint8_t*>(norm.data());
  nt.nbytes = k * 4;
  src.tensors.push_back(nt);
  QuantizeReport rep;
  const auto q = quantize_ternary(src, DType::I2_S, {}, &rep);
  ASSERT_EQ(rep.quantized.size(), 1u);
  EXPECT_FALSE(rep.quantized[0].exact);
  const float g = ternary_absmean_scale(w.data(), w.size());
  EXPECT_FLOAT_EQ(rep.quantized[0].scale, g);
  const auto back = dequantized(q.tensors[0]);
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(back[i], std::clamp(std::nearbyint(w[i] / g), -1.0f, 1.0f) * g);
  EXPECT_GT(rep.quantized[0].frac_zero, 0.2);
  EXPECT_LT(rep.quantized[0].frac_zero, 0.5);
  EXPECT_EQ(q.tensors[1].data, nt.data);  // the norm is passed through untouched
  EXPECT_EQ(rep.kept, std::vector<std::string>{"blk.1.attn_norm.weight"});
  // Excluded tensors are kept, and shapes a type cannot hold are refused by name.
  const auto none = quantize_ternary(
      src, DType::I2_S, [](const std::string& s) { return s.find("attn_q") != std::string::npos; }, &rep);
  EXPECT_EQ(none.tensors[0].type, DType::F32);
  std::vector<float> odd(96 * 2, 0.5f);
  auto bad = one_tensor_model("blk.0.attn_v.weight", odd, 96);
  try {
    quantize_ternary(bad, DType::TQ2_0, {});
    FAIL() << "accepted rows of 96 for TQ2_0";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_v.weight"), std::string::npos) << e.what();
  }
}

TEST(Health, NormChecksSkipTheFinalNormAndFlagScaledOnes) {
  std::vector<float> good(64, 1.0f), small(64, 1.0f / 56), final_gain(64, 7.0f);
  ModelFile f;
  auto add = [&](const char* name, std::vector<float>& v) {
    TensorInfo t;
    t.name = name;
    t.ne = {v.size()};
    t.data = reinterpret_cast<const uint8_t*>(v.data());
    t.nbytes = v.size() * 4;
    f.tensors.push_back(t);
  };
  add("blk.0.attn_norm.weight", small);
  add("blk.0.attn_sub_norm.weight", good);
  add("output_norm.weight", final_gain);
  const auto c = check_norms(f, 0.5, 2.0, true);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_FALSE(c[0].healthy);
  EXPECT_NEAR(c[0].rms, 1.0 / 56, 1e-6);
  EXPECT_TRUE(c[1].healthy);
  EXPECT_TRUE(c[2].healthy);
  EXPECT_FALSE(c[2].range_checked);
  EXPECT_TRUE(check_norms(f, 0.5, 2.0, true, 56.0f)[0].healthy);  // TERN_FIX_LN_SCALE's correction
  EXPECT_TRUE(check_norms(f, 0.5, 2.0, false)[0].healthy);        // range not enforced
}

TEST(Health, WordJudge) {
  const auto path = WordList::default_path();
  if (path.empty()) GTEST_SKIP() << "no word list installed (Debian: wamerican)";
  const auto words = WordList::load(path);
  auto j = judge_words(words, " a big, red castle. He liked to play with Lily's dgo");
  EXPECT_EQ(j.words, 11u);
  EXPECT_EQ(j.known, 10u);  // all but "dgo"; "Lily's" counts as "lily"
  j = judge_words(words, "isisisisis qzxv blorptang");
  EXPECT_EQ(j.known, 0u);
  EXPECT_TRUE(judge_words(words, "time time time time time time time time").repetitive());
  EXPECT_FALSE(judge_words(words, "there was a little girl named Lily who loved").repetitive());
}

}  // namespace
}  // namespace tern
