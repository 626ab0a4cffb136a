// config.json of a Hugging Face checkpoint from GGUF metadata, through the architecture descriptor's tables.
#include "tern/hf_config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tern/arch.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

using nlohmann::json;
using nlohmann::ordered_json;

namespace tern {
namespace {

// A float as config.json should show it: the shortest text that reads back as the same float.
ordered_json shortest(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, float(v));
  std::string text(buf, r.ptr);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";  // 10000.0, as transformers writes a float
  return ordered_json::parse(text);
}

}  // namespace

std::string hf_config_json(const ModelFile& f, const std::string& bitnet_mode,
                           const std::string& torch_dtype) {
  const ArchDescriptor* found = find_arch(f.get_string("general.architecture"));
  if (!found)
    throw Error(f.path + ": architecture '" + f.get_string("general.architecture") +
                "' has no Hugging Face form");
  const ArchDescriptor& arch = *found;
  const std::string a = std::string(arch.name) + ".";
  ordered_json c = {{"architectures", {arch.hf_class}}, {"model_type", arch.hf_model_type}};
  if (const auto* name = f.get("general.name"); name && name->type == MetaType::STRING)
    c["_name_or_path"] = name->s;
  for (const auto& h : hparam_namings()) {
    const auto* m = f.get(a + h.gguf);
    if (!m && std::string_view(h.gguf) == "vocab_size" && file_vocab_size(f, arch) > 0) {
      c[h.hf] = file_vocab_size(f, arch);
      continue;
    }
    if (!m) {
      if (h.required) throw Error(f.path + ": missing " + a + h.gguf);
      continue;
    }
    if (h.real)
      c[h.hf] = shortest(m->as_float());
    else
      c[h.hf] = m->as_int();
  }
  c["hidden_act"] = file_ffn_activation(f, arch) == Activation::Relu2 ? "relu2" : "silu";
  c["tie_word_embeddings"] = f.find(tensor_name({TensorRole::Output})) == nullptr;
  c["attention_bias"] = false;
  for (const char* key : {"bos_token_id", "eos_token_id"}) {
    const std::string g = std::string("tokenizer.ggml.") + key;
    if (f.get(g)) c[key] = f.get_int(g, 0);
  }
  c["torch_dtype"] = torch_dtype;
  if (arch.bitlinear)
    c["quantization_config"] = {
        {"quant_method", "bitnet"}, {"linear_class", "autobitlinear"}, {"quantization_mode", bitnet_mode}};
  return c.dump(2) + "\n";
}

HfConfig read_hf_config(const nlohmann::json& cfg, const std::string& config_path,
                        std::map<std::string, MetaValue>& meta, const std::string& default_name) {
  std::string arch_name;
  if (cfg.contains("architectures")) {
    const auto& list = cfg["architectures"];
    if (!list.is_array() || list.empty() || !list.back().is_string())
      throw Error(config_path + ": architectures must be a non-empty array of strings");
    arch_name = list.back().get<std::string>();
  }
  const std::string model_type =
      cfg.contains("model_type") && cfg["model_type"].is_string() ? cfg["model_type"].get<std::string>() : "";
  const std::string act_name = cfg.contains("hidden_act") && cfg["hidden_act"].is_string()
                                   ? cfg["hidden_act"].get<std::string>()
                                   : "silu";
  if (act_name != "silu" && act_name != "relu2")
    throw Error(config_path + ": unsupported hidden_act '" + act_name + "' (silu or relu2)");
  const Activation act = act_name == "relu2" ? Activation::Relu2 : Activation::Silu;
  const ArchDescriptor* desc = arch_from_hf(arch_name, model_type, act);
  if (!desc)
    throw Error(config_path + ": unsupported architecture '" + arch_name + "' (model_type '" + model_type +
                "', hidden_act '" + act_name + "')");
  const std::string arch = desc->name;
  std::string quant_mode;
  if (cfg.contains("quantization_config")) {
    const auto& qc = cfg["quantization_config"];
    if (!qc.is_object()) throw Error(config_path + ": quantization_config must be an object");
    if (qc.contains("quant_method") && qc["quant_method"] != "bitnet")
      throw Error(config_path + ": unsupported quant_method " + qc["quant_method"].dump() + " (bitnet)");
    if (qc.contains("quantization_mode")) {
      quant_mode = qc["quantization_mode"].is_string() ? qc["quantization_mode"].get<std::string>() : "";
      if (quant_mode != "offline" && quant_mode != "online")
        throw Error(config_path + ": unknown quantization_mode " + qc["quantization_mode"].dump() +
                    " (offline or online)");
    }
  }
  bool tied = true;
  if (cfg.contains("tie_word_embeddings")) {
    if (!cfg["tie_word_embeddings"].is_boolean())
      throw Error(config_path + ": tie_word_embeddings must be true or false");
    tied = cfg["tie_word_embeddings"].get<bool>();
  }
  auto num = [&](const char* key) -> int64_t {
    if (!cfg[key].is_number_integer() || cfg[key].get<int64_t>() <= 0 ||
        cfg[key].get<int64_t>() > (int64_t(1) << 24))
      throw Error(config_path + ": invalid " + key + " " + cfg[key].dump() +
                  " (a positive integer up to 2^24)");
    return cfg[key].get<int64_t>();
  };
  auto real = [&](const char* key) -> float {
    if (!cfg[key].is_number()) throw Error(config_path + ": " + key + " must be a number");
    const double v = cfg[key].get<double>();
    if (!std::isfinite(v) || v < 0 || v > 1e30)
      throw Error(config_path + ": " + key + " = " + cfg[key].dump() + " is out of range");
    return float(v);
  };
  const std::string a = arch + ".";
  auto& m = meta;
  m["general.architecture"] = MetaValue::str(arch);
  // transformers records the name the model was loaded from; tern's writer puts general.name there.
  const bool named = cfg.contains("_name_or_path") && cfg["_name_or_path"].is_string() &&
                     !cfg["_name_or_path"].get<std::string>().empty();
  m["general.name"] = MetaValue::str(named ? cfg["_name_or_path"].get<std::string>() : default_name);
  for (const auto& h : hparam_namings()) {
    const std::string key = a + h.gguf;
    if (cfg.contains(h.hf) && !cfg[h.hf].is_null())
      m[key] = h.real ? MetaValue::f32(real(h.hf)) : MetaValue::u32(uint32_t(num(h.hf)));
    else if (h.required)
      throw Error(config_path + ": missing " + h.hf);
    else if (h.default_from)
      m[key] = m.at(a + h.default_from);
    else if (h.fallback != 0)
      m[key] = h.real ? MetaValue::f32(float(h.fallback)) : MetaValue::u32(uint32_t(h.fallback));
  }
  // Hugging Face checkpoints keep q/k rows in rotate-half order; we run them as-is instead of permuting.
  m["tern.rope_layout"] = MetaValue::str(rope_style_name(RopeStyle::RotateHalf));

  return {desc, quant_mode, tied};
}

nlohmann::json read_json_object(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) throw Error(p.string() + ": cannot open");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(p.string() + ": invalid JSON: " + e.what());
  }
  if (!j.is_object())
    throw Error(p.string() + ": expected a JSON object, found " + std::string(j.type_name()));
  return j;
}

void read_hf_tokenizer(const std::filesystem::path& dir, const nlohmann::json& cfg,
                       std::map<std::string, MetaValue>& meta) {
  std::error_code ec;
  // A SentencePiece model ships tokenizer.model (its exact scores) and often a tokenizer.json too: the
  // former wins; a BPE model has only tokenizer.json.
  for (const char* tok : {"tokenizer.model", "tokenizer.json"}) {
    if (!std::filesystem::exists(dir / tok, ec)) continue;
    Vocab vocab = Tokenizer::from_file(dir / tok)->vocab();
    if (cfg.contains("bos_token_id") && cfg["bos_token_id"].is_number_integer())
      vocab.bos = cfg["bos_token_id"].get<int32_t>();
    if (cfg.contains("eos_token_id") && cfg["eos_token_id"].is_number_integer())
      vocab.eos = cfg["eos_token_id"].get<int32_t>();
    if (std::filesystem::exists(dir / "tokenizer_config.json", ec)) {
      const json tc = read_json_object(dir / "tokenizer_config.json");
      if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean())
        vocab.add_bos = tc["add_bos_token"].get<bool>();
      // The chat template travels with the model under GGUF's key, as llama.cpp's converter writes it.
      if (tc.contains("chat_template") && tc["chat_template"].is_string())
        meta["tokenizer.chat_template"] = MetaValue::str(tc["chat_template"].get<std::string>());
    }
    vocab.to_metadata(meta);
    return;
  }
}

}  // namespace tern
