#pragma once
#include <filesystem>

#include "tern/model_file.h"
#include "tern/plugin/format_api.h"

namespace tern::onnx {

// Writes the directory `dir` (which must not exist): model.onnx + model.onnx.data (a decoder with KV cache
// inputs / outputs), genai_config.json, config.json and the tokenizer files.
void write(const ModelFile& model, const std::filesystem::path& dir, const WriteOptions& options);

}  // namespace tern::onnx
