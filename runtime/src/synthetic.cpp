#include "tern/synthetic.h"

#include <cmath>

#include "tern/arch.h"
#include "tern/error.h"

namespace tern {
namespace {

// SplitMix64: fast, and the same stream on every platform (std distributions are not).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
};

void add_tensor(ModelFile& f, const std::string& name, DType type, const std::vector<float>& v, size_t k,
                size_t rows, float scale = 1.0f) {
  if (!dtype_row_ok(type, k))
    throw Error("synthetic model: " + name + " has rows of " + std::to_string(k) + ", which " +
                dtype_name(type) + " cannot hold (block size " +
                std::to_string(dtype_traits(type)->block_size) + ")");
  TensorInfo t;
  t.name = name;
  t.type = type;
  t.ne = rows == 1 ? std::vector<uint64_t>{k} : std::vector<uint64_t>{k, rows};
  t.nbytes = dtype_tensor_bytes(type, k, rows);
  uint8_t* dst = f.alloc(t.nbytes);
  quantize_matrix(type, v.data(), dst, k, rows, scale);
  t.data = dst;
  f.tensors.push_back(std::move(t));
}

}  // namespace

std::vector<std::string> synthetic_preset_names() {
  return {"bitnet-2b4t", "bitnet-large", "tiny"};
}

SyntheticSpec synthetic_preset(const std::string& name) {
  SyntheticSpec s;
  s.name = name;
  if (name == "bitnet-2b4t") {  // microsoft/bitnet-b1.58-2B-4T
    s.n_embd = 2560, s.n_layer = 30, s.n_head = 20, s.n_head_kv = 5, s.n_ff = 6912, s.n_vocab = 128256;
    s.arch = "bitnet-b1.58";  // the relu² graph, as in Microsoft's GGUF of it
    s.rope_theta = 500000.0f;
  } else if (name == "bitnet-large") {  // 1bitLLM/bitnet_b1_58-large
    s.n_embd = 1536, s.n_layer = 24, s.n_head = 16, s.n_head_kv = 16, s.n_ff = 4096, s.n_vocab = 32000;
    s.n_ctx = 2048;
    s.rope_theta = 10000.0f;
  } else if (name == "tiny") {
    s.n_embd = 256, s.n_layer = 2, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 512, s.n_vocab = 1000;
    s.n_ctx = 256;
    s.rope_theta = 10000.0f;
  } else {
    std::string names;
    for (const auto& n : synthetic_preset_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown synthetic preset '" + name + "' (presets: " + names + ")");
  }
  return s;
}

ModelFile make_synthetic_model(const SyntheticSpec& s, DType weight_type, DType embd_type, uint64_t seed) {
  if (!s.n_embd || !s.n_layer || !s.n_head || !s.n_head_kv || !s.n_ff || !s.n_vocab || s.n_embd % s.n_head ||
      s.n_head % s.n_head_kv)
    throw Error("synthetic model: inconsistent dimensions");
  const ArchDescriptor* arch = find_arch(s.arch);
  if (!arch)
    throw Error("synthetic model: unknown architecture '" + s.arch + "' (" + supported_arch_names() + ")");
  ModelFile f;
  f.path = "synthetic:" + s.name;
  f.format = "synthetic";
  const std::string a = s.arch + ".";
  auto& m = f.meta;
  m["general.architecture"] = MetaValue::str(s.arch);
  m["general.name"] = MetaValue::str("synthetic " + s.name + " (random weights)");
  m[a + "embedding_length"] = MetaValue::u32(uint32_t(s.n_embd));
  m[a + "block_count"] = MetaValue::u32(uint32_t(s.n_layer));
  m[a + "feed_forward_length"] = MetaValue::u32(uint32_t(s.n_ff));
  m[a + "attention.head_count"] = MetaValue::u32(uint32_t(s.n_head));
  m[a + "attention.head_count_kv"] = MetaValue::u32(uint32_t(s.n_head_kv));
  m[a + "vocab_size"] = MetaValue::u32(uint32_t(s.n_vocab));
  m[a + "context_length"] = MetaValue::u32(uint32_t(s.n_ctx));
  m[a + "rope.freq_base"] = MetaValue::f32(s.rope_theta);
  m[a + "attention.layer_norm_rms_epsilon"] = MetaValue::f32(1e-5f);
  // GGUF's way to say "no vocabulary": llama.cpp requires the key, and bitnet.cpp's fork accepts only this
  // spelling of it, so both peers run these files too (scripts/bench_report.sh compares against llama.cpp).
  m["tokenizer.ggml.model"] = MetaValue::str("no_vocab");

  Rng rng{seed};
  const size_t D = s.n_embd, F = s.n_ff, hd = D / s.n_head, kv = s.n_head_kv * hd;
  auto ternary = [&](const std::string& name, size_t k, size_t n) {
    // Scale 1/sqrt(k * 2/3) keeps each output's variance near its input's.
    const float scale = 1.0f / std::sqrt(float(k) * 2.0f / 3.0f);
    std::vector<float> v(k * n);
    for (auto& x : v) x = float(int(rng.next() % 3) - 1) * scale;
    add_tensor(f, name, weight_type, v, k, n, scale);
  };
  std::vector<float> ones(std::max(D, F), 1.0f);
  std::vector<float> embd(D * s.n_vocab);
  for (auto& x : embd) x = (rng.uniform() - 0.5f) * 0.1f;
  using R = TensorRole;
  add_tensor(f, tensor_name({R::TokenEmbd}), embd_type, embd, D, s.n_vocab);
  embd = {};
  if (!s.tied_embeddings) {
    std::vector<float> out(D * s.n_vocab);
    for (auto& x : out) x = (rng.uniform() - 0.5f) * 0.1f;
    add_tensor(f, tensor_name({R::Output}), embd_type, out, D, s.n_vocab);
  }
  add_tensor(f, tensor_name({R::OutputNorm}), DType::F32, ones, D, 1);
  for (size_t l = 0; l < s.n_layer; ++l) {
    auto name = [l](R role) { return tensor_name(role, l); };
    add_tensor(f, name(R::AttnNorm), DType::F32, ones, D, 1);
    add_tensor(f, name(R::FfnNorm), DType::F32, ones, D, 1);
    if (arch->bitlinear) {
      add_tensor(f, name(R::AttnSubNorm), DType::F32, ones, D, 1);
      add_tensor(f, name(R::FfnSubNorm), DType::F32, ones, F, 1);
    }
    ternary(name(R::AttnQ), D, D);
    ternary(name(R::AttnK), D, kv);
    ternary(name(R::AttnV), D, kv);
    ternary(name(R::AttnOutput), D, D);
    ternary(name(R::FfnGate), D, F);
    ternary(name(R::FfnUp), D, F);
    ternary(name(R::FfnDown), F, D);
  }
  return f;
}

}  // namespace tern
