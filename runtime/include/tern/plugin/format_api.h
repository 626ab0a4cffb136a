#pragma once
// The format plugin boundary: reading (and optionally writing) model files into a tern::ModelFile.
// Bump kFormatAbiVersion on any change here or in model_file.h.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "tern/model_file.h"

namespace tern {

inline constexpr uint32_t kFormatAbiVersion = 2;

// Format-specific write settings as key = value (e.g. safetensors' bitnet_layout = online). A plugin refuses
// keys it does not know, naming them, rather than ignoring them.
using WriteOptions = std::map<std::string, std::string>;

class FormatPlugin {
 public:
  virtual ~FormatPlugin() = default;
  virtual const char* name() const = 0;
  // 0 = not this format; higher = more certain (magic matched). Must not throw for unreadable paths.
  virtual int probe(const std::filesystem::path& path) const = 0;
  // Throws tern::Error naming the file and the problem.
  virtual std::unique_ptr<ModelFile> load(const std::filesystem::path& path) const = 0;
  virtual bool can_write() const { return false; }
  // Writes atomically: to a temporary name in the same directory, then renamed. Formats that are a directory
  // (a Hugging Face checkpoint, an ONNX model with external data) create `path`, which must not exist yet.
  virtual void write(const ModelFile& model, const std::filesystem::path& path,
                     const WriteOptions& options) const;
  void write(const ModelFile& model, const std::filesystem::path& path) const { write(model, path, {}); }
};

}  // namespace tern

extern "C" {
using tern_format_create_fn = tern::FormatPlugin*();
}
