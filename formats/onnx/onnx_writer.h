#pragma once
#include <filesystem>

#include "onnx_builder.h"
#include "tern/model_file.h"
#include "tern/plugin/format_api.h"

namespace tern::onnx {

// Writes the directory `dir` (which must not exist): model.onnx + model.onnx.data (a decoder with KV cache
// inputs / outputs), genai_config.json, config.json and the tokenizer files.
void write(const ModelFile& model, const std::filesystem::path& dir, const WriteOptions& options);

// The graph `write` would produce for `model`, without weight data: what the reader checks a file against.
GraphBuilder decoder_structure(const ModelFile& model);

}  // namespace tern::onnx
