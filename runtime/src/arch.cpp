#include "tern/arch.h"

#include "tern/error.h"

namespace tern {

const std::vector<ArchDescriptor>& architectures() {
  // llama.cpp's converter permutes llama q/k rows to the interleaved order and runs them with "norm" RoPE;
  // for every BitNet name both llama.cpp and bitnet.cpp keep Hugging Face's row order and run NEOX RoPE.
  // bitnet-25 is what bitnet.cpp's converter for Microsoft's checkpoints writes; same graph as bitnet-b1.58.
  static const std::vector<ArchDescriptor> kArchs = {
      {"llama", false, Activation::Silu, RopeStyle::Interleaved, "Llama-family decoder"},
      {"bitnet", true, Activation::Silu, RopeStyle::RotateHalf, "BitNet b1.58 with SiLU (1bitLLM graph)"},
      {"bitnet-b1.58", true, Activation::Relu2, RopeStyle::RotateHalf, "BitNet b1.58 with relu² (2B4T graph)"},
      {"bitnet-25", true, Activation::Relu2, RopeStyle::RotateHalf, "BitNet b1.58 with relu² (2B4T graph)"},
  };
  return kArchs;
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

const ArchDescriptor* arch_from_hf(const std::string& hf_class, const std::string& model_type, Activation act) {
  if (hf_class == "BitNetForCausalLM" || hf_class == "BitnetForCausalLM" || (hf_class.empty() && model_type == "bitnet"))
    return &arch_for_graph(true, act);
  if (hf_class == "LlamaForCausalLM" || hf_class == "MistralForCausalLM" || (hf_class.empty() && model_type == "llama"))
    return act == Activation::Silu ? find_arch("llama") : nullptr;
  return nullptr;
}

std::string hf_to_gguf_tensor_name(const std::string& hf) {
  static const std::pair<const char*, const char*> kLayer[] = {
      {"self_attn.q_proj.weight", "attn_q.weight"},      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},       {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},       {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.attn_sub_norm.weight", "attn_sub_norm.weight"}, {"mlp.ffn_sub_norm.weight", "ffn_sub_norm.weight"},
  };
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string pre = "model.layers.";
  if (hf.rfind(pre, 0) != 0) return "";
  const size_t dot = hf.find('.', pre.size());
  if (dot == std::string::npos || dot == pre.size()) return "";
  const std::string idx = hf.substr(pre.size(), dot - pre.size());
  if (idx.find_first_not_of("0123456789") != std::string::npos || idx.size() > 6) return "";  // so stoul cannot throw
  const std::string rest = hf.substr(dot + 1);
  for (const auto& [from, to] : kLayer)
    if (rest == from) return "blk." + std::to_string(std::stoul(idx)) + "." + to;
  return "";
}

Activation file_ffn_activation(const ModelFile& f, const ArchDescriptor& arch) {
  const std::string act = f.get_string("tern.ffn_activation", "");
  if (act.empty()) return arch.ffn_act;
  if (act == "relu2") return Activation::Relu2;
  if (act == "silu") return Activation::Silu;
  throw Error(f.path + ": unknown tern.ffn_activation '" + act + "' (silu or relu2)");
}

RopeStyle file_rope_style(const ModelFile& f, const ArchDescriptor& arch) {
  const std::string layout = f.get_string("tern.rope_layout", "");
  if (layout == "rotate_half") return RopeStyle::RotateHalf;
  if (layout == "interleaved") return RopeStyle::Interleaved;
  if (!layout.empty()) throw Error(f.path + ": unknown tern.rope_layout '" + layout + "'");
  if (arch.bitlinear && f.get("tern.converter")) return RopeStyle::Interleaved;
  return arch.gguf_rope;
}

const char* rope_style_name(RopeStyle s) { return s == RopeStyle::RotateHalf ? "rotate_half" : "interleaved"; }

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
