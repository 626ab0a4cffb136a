#include "tern/arch.h"

#include "tern/error.h"

namespace tern {

const std::vector<ArchDescriptor>& architectures() {
  // llama.cpp's converter permutes llama q/k rows to the interleaved order and runs them with "norm" RoPE;
  // for every BitNet name both llama.cpp and bitnet.cpp keep Hugging Face's row order and run NEOX RoPE.
  // bitnet-25 is what bitnet.cpp's converter for Microsoft's checkpoints writes; same graph as bitnet-b1.58.
  static const std::vector<ArchDescriptor> kArchs = {
      {"llama", false, Activation::Silu, RopeStyle::Interleaved, "Llama-family decoder", "LlamaForCausalLM",
       "llama"},
      {"bitnet", true, Activation::Silu, RopeStyle::RotateHalf, "BitNet b1.58 with SiLU (1bitLLM graph)",
       "BitNetForCausalLM", "bitnet"},
      {"bitnet-b1.58", true, Activation::Relu2, RopeStyle::RotateHalf, "BitNet b1.58 with relu² (2B4T graph)",
       "BitNetForCausalLM", "bitnet"},
      {"bitnet-25", true, Activation::Relu2, RopeStyle::RotateHalf, "BitNet b1.58 with relu² (2B4T graph)",
       "BitNetForCausalLM", "bitnet"},
  };
  return kArchs;
}

const std::vector<HparamNaming>& hparam_namings() {
  // gguf, hf, real, required, fallback, default_from
  static const std::vector<HparamNaming> kHparams = {
      {"embedding_length", "hidden_size", false, true, 0},
      {"block_count", "num_hidden_layers", false, true, 0},
      {"feed_forward_length", "intermediate_size", false, true, 0},
      {"attention.head_count", "num_attention_heads", false, true, 0},
      {"attention.head_count_kv", "num_key_value_heads", false, false, 0, "attention.head_count"},
      {"vocab_size", "vocab_size", false, true, 0},
      {"context_length", "max_position_embeddings", false, false, 2048},
      {"rope.freq_base", "rope_theta", true, false, 10000.0},
      {"attention.layer_norm_rms_epsilon", "rms_norm_eps", true, false, 1e-5},
      {"attention.key_length", "head_dim", false, false, 0},
  };
  return kHparams;
}

const ArchDescriptor* find_arch(std::string_view name) {
  for (const auto& a : architectures())
    if (name == a.name) return &a;
  return nullptr;
}

std::string supported_arch_names() {
  std::string s;
  for (const auto& a : architectures()) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

const ArchDescriptor& arch_for_graph(bool bitlinear, Activation act) {
  if (!bitlinear) return *find_arch("llama");
  return *find_arch(act == Activation::Relu2 ? "bitnet-b1.58" : "bitnet");
}

const ArchDescriptor* arch_from_hf(const std::string& hf_class, const std::string& model_type,
                                   Activation act) {
  if (hf_class == "BitNetForCausalLM" || hf_class == "BitnetForCausalLM" ||
      (hf_class.empty() && model_type == "bitnet"))
    return &arch_for_graph(true, act);
  if (hf_class == "LlamaForCausalLM" || hf_class == "MistralForCausalLM" ||
      (hf_class.empty() && model_type == "llama"))
    return act == Activation::Silu ? find_arch("llama") : nullptr;
  return nullptr;
}

const std::vector<TensorNaming>& tensor_namings() {
  using R = TensorRole;
  // role, per_layer, projection, norm, bitlinear_only, gguf, hf, onnx
  static const std::vector<TensorNaming> kNames = {
      {R::TokenEmbd, false, false, false, false, "token_embd.weight", "model.embed_tokens.weight",
       "model.embed_tokens.weight"},
      {R::Output, false, false, false, false, "output.weight", "lm_head.weight", "lm_head.weight"},
      {R::OutputNorm, false, false, true, false, "output_norm.weight", "model.norm.weight",
       "model.norm.weight"},
      {R::AttnNorm, true, false, true, false, "blk.{}.attn_norm.weight",
       "model.layers.{}.input_layernorm.weight", "model.layers.{}.input_layernorm.weight"},
      {R::AttnQ, true, true, false, false, "blk.{}.attn_q.weight", "model.layers.{}.self_attn.q_proj.weight",
       "model.layers.{}.attn.q_proj.weight"},
      {R::AttnK, true, true, false, false, "blk.{}.attn_k.weight", "model.layers.{}.self_attn.k_proj.weight",
       "model.layers.{}.attn.k_proj.weight"},
      {R::AttnV, true, true, false, false, "blk.{}.attn_v.weight", "model.layers.{}.self_attn.v_proj.weight",
       "model.layers.{}.attn.v_proj.weight"},
      {R::AttnOutput, true, true, false, false, "blk.{}.attn_output.weight",
       "model.layers.{}.self_attn.o_proj.weight", "model.layers.{}.attn.o_proj.weight"},
      {R::AttnSubNorm, true, false, true, true, "blk.{}.attn_sub_norm.weight",
       "model.layers.{}.self_attn.attn_sub_norm.weight", "model.layers.{}.attn.sub_norm.weight"},
      {R::FfnNorm, true, false, true, false, "blk.{}.ffn_norm.weight",
       "model.layers.{}.post_attention_layernorm.weight", "model.layers.{}.post_attention_layernorm.weight"},
      {R::FfnGate, true, true, false, false, "blk.{}.ffn_gate.weight", "model.layers.{}.mlp.gate_proj.weight",
       "model.layers.{}.mlp.gate_proj.weight"},
      {R::FfnUp, true, true, false, false, "blk.{}.ffn_up.weight", "model.layers.{}.mlp.up_proj.weight",
       "model.layers.{}.mlp.up_proj.weight"},
      {R::FfnDown, true, true, false, false, "blk.{}.ffn_down.weight", "model.layers.{}.mlp.down_proj.weight",
       "model.layers.{}.mlp.down_proj.weight"},
      {R::FfnSubNorm, true, false, true, true, "blk.{}.ffn_sub_norm.weight",
       "model.layers.{}.mlp.ffn_sub_norm.weight", "model.layers.{}.mlp.sub_norm.weight"},
  };
  return kNames;
}

const TensorNaming& tensor_naming(TensorRole role) {
  for (const auto& n : tensor_namings())
    if (n.role == role) return n;
  throw Error("tensor_naming: unknown role");
}

namespace {

const char* pattern(const TensorNaming& n, NameScheme scheme) {
  return scheme == NameScheme::Gguf ? n.gguf : scheme == NameScheme::HuggingFace ? n.hf : n.onnx;
}

}  // namespace

std::string tensor_name(TensorId id, NameScheme scheme) {
  const TensorNaming& n = tensor_naming(id.role);
  std::string p = pattern(n, scheme);
  if (n.per_layer) p.replace(p.find("{}"), 2, std::to_string(id.layer));
  return p;
}

std::string tensor_name(TensorRole role, size_t layer, NameScheme scheme) {
  return tensor_name(TensorId{role, int(layer)}, scheme);
}

std::optional<TensorId> parse_tensor_name(std::string_view name, NameScheme scheme) {
  for (const auto& n : tensor_namings()) {
    const std::string_view p = pattern(n, scheme);
    if (!n.per_layer) {
      if (name == p) return TensorId{n.role, -1};
      continue;
    }
    const size_t hole = p.find("{}");
    const std::string_view pre = p.substr(0, hole), post = p.substr(hole + 2);
    if (name.size() <= pre.size() + post.size() || !name.starts_with(pre) || !name.ends_with(post)) continue;
    const std::string_view idx = name.substr(pre.size(), name.size() - pre.size() - post.size());
    // Digits only, no leading zero, at most 6 of them: "blk.01." is not layer 1, and no index can overflow.
    if (idx.size() > 6 || idx.find_first_not_of("0123456789") != std::string_view::npos ||
        (idx.size() > 1 && idx[0] == '0'))
      continue;
    return TensorId{n.role, std::stoi(std::string(idx))};
  }
  return std::nullopt;
}

bool is_projection_tensor(std::string_view gguf_name) {
  const auto id = parse_tensor_name(gguf_name);
  return id && tensor_naming(id->role).projection;
}

bool is_norm_tensor(std::string_view gguf_name) {
  const auto id = parse_tensor_name(gguf_name);
  return id && tensor_naming(id->role).norm;
}

std::string hf_to_gguf_tensor_name(const std::string& hf) {
  const auto id = parse_tensor_name(hf, NameScheme::HuggingFace);
  return id ? tensor_name(*id, NameScheme::Gguf) : "";
}

Activation file_ffn_activation(const ModelFile& f, const ArchDescriptor& arch) {
  const std::string act = f.get_string("tern.ffn_activation", "");
  if (act.empty()) return arch.ffn_act;
  if (act == "relu2") return Activation::Relu2;
  if (act == "silu") return Activation::Silu;
  throw Error(f.path + ": unknown tern.ffn_activation '" + act + "' (silu or relu2)");
}

int64_t file_vocab_size(const ModelFile& f, const ArchDescriptor& arch) {
  const TensorInfo* embd = f.find(tensor_name({TensorRole::TokenEmbd}));
  const int64_t rows = embd && embd->ne.size() == 2 ? int64_t(embd->ne[1]) : 0;
  return f.get_int(std::string(arch.name) + ".vocab_size", rows);
}

RopeStyle file_rope_style(const ModelFile& f, const ArchDescriptor& arch) {
  const std::string layout = f.get_string("tern.rope_layout", "");
  if (layout == "rotate_half") return RopeStyle::RotateHalf;
  if (layout == "interleaved") return RopeStyle::Interleaved;
  if (!layout.empty()) throw Error(f.path + ": unknown tern.rope_layout '" + layout + "'");
  if (arch.bitlinear && f.get("tern.converter")) return RopeStyle::Interleaved;
  return arch.gguf_rope;
}

const char* rope_style_name(RopeStyle s) {
  return s == RopeStyle::RotateHalf ? "rotate_half" : "interleaved";
}

void rename_arch(ModelFile& f, const ArchDescriptor& to) {
  const std::string from = f.get_string("general.architecture");
  if (from == to.name) return;
  const std::string old_prefix = from + ".";
  std::map<std::string, MetaValue> meta;
  for (auto& [k, v] : f.meta)
    meta[k.starts_with(old_prefix) ? to.name + k.substr(from.size()) : k] = std::move(v);
  meta["general.architecture"] = MetaValue::str(to.name);
  f.meta = std::move(meta);
}

}  // namespace tern
