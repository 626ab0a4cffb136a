#pragma once
#include <filesystem>
#include <memory>

#include "tern/model_file.h"

namespace tern::onnx {

int probe(const std::filesystem::path& path);
// Reads a directory (or its model.onnx) that `tern export --format onnx` wrote: model.onnx, its external
// data, config.json and the tokenizer files. Anything else is refused naming the node or initializer.
std::unique_ptr<ModelFile> read(const std::filesystem::path& path);

}  // namespace tern::onnx
