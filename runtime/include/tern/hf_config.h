#pragma once
// Hugging Face config.json <-> GGUF metadata, through the architecture descriptor's hyper-parameter table.
// Shared by the format plugins that read and write checkpoint directories (safetensors, onnx).
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tern/arch.h"

namespace tern {

struct HfConfig {
  const ArchDescriptor* arch = nullptr;
  std::string quant_mode;  // BitNet quantization_config.quantization_mode: "", offline or online
  bool tied = true;        // tie_word_embeddings
};

// Checks config.json (at `config_path`, for messages) and fills `meta` with general.architecture,
// general.name (`_name_or_path`, else `default_name`), every hyper-parameter and tern.rope_layout =
// rotate_half.
HfConfig read_hf_config(const nlohmann::json& cfg, const std::string& config_path,
                        std::map<std::string, MetaValue>& meta, const std::string& default_name);

// A JSON file that must hold an object; errors name the file.
nlohmann::json read_json_object(const std::filesystem::path& path);

// The tokenizer next to a config.json (tokenizer.json or tokenizer.model, tokenizer_config.json's BOS /
// add_bos_token / chat template, config.json's BOS / EOS ids) into tokenizer.* metadata; nothing if none.
void read_hf_tokenizer(const std::filesystem::path& dir, const nlohmann::json& cfg,
                       std::map<std::string, MetaValue>& meta);

}  // namespace tern
