#pragma once
#include <filesystem>
#include <memory>

#include "tern/model_file.h"
#include "tern/plugin/format_api.h"

namespace tern::safetensors {

int probe(const std::filesystem::path& path);
// Reads a Hugging Face checkpoint directory (config.json + model.safetensors or a sharded index) into GGUF
// names and conventions. BitNet projections, packed 2-bit or latent float, become I2_S.
std::unique_ptr<ModelFile> read(const std::filesystem::path& path);
// Writes a Hugging Face checkpoint directory `dir` (which must not exist): config.json, model.safetensors (or
// shards and their index past max_shard_size), generation_config.json and the tokenizer files. BitNet
// projections in transformers' packed offline layout (bitnet_layout=online: latent bf16), q/k rows in
// rotate-half order, float tensors in their type, quantized ones as F32.
void write(const ModelFile& model, const std::filesystem::path& dir, const WriteOptions& options);

}  // namespace tern::safetensors
