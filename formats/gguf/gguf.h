#pragma once
#include <filesystem>
#include <memory>

#include "tern/model_file.h"

namespace tern::gguf {

// Reads GGUF v2/v3 with mmap; tensor data are zero-copy views into the mapping. Every offset, size, count and
// string length is checked against the file size before use.
std::unique_ptr<ModelFile> read(const std::filesystem::path& path);
// Writes GGUF v3 (alignment from general.alignment, default 32) via a temporary file and rename.
void write(const ModelFile& model, const std::filesystem::path& path);

}  // namespace tern::gguf
