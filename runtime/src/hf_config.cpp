// config.json of a Hugging Face checkpoint from GGUF metadata, through the architecture descriptor's tables.
#include <charconv>
#include <nlohmann/json.hpp>

#include "tern/arch.h"
#include "tern/error.h"

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

}  // namespace tern
