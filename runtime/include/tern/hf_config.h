#pragma once
// Hugging Face config.json <-> GGUF metadata, through the architecture descriptor's hyper-parameter table.
// Shared by the format plugins that read and write checkpoint directories (safetensors, onnx).
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
// general.name (`_name_or_path`, else `default_name`), every hyper-parameter and tern.rope_layout = rotate_half.
HfConfig read_hf_config(const nlohmann::json& cfg, const std::string& config_path, std::map<std::string, MetaValue>& meta,
                        const std::string& default_name);

}  // namespace tern
