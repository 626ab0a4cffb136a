#pragma once
#include <filesystem>
#include <memory>

#include "tern/model_file.h"

namespace tern::safetensors {

int probe(const std::filesystem::path& path);
// Reads a Hugging Face checkpoint directory (config.json + model.safetensors or a sharded index) into GGUF
// names and conventions. BitNet projections, packed 2-bit or latent float, become I2_S.
std::unique_ptr<ModelFile> read(const std::filesystem::path& path);

}  // namespace tern::safetensors
