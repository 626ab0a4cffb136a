#include "safetensors.h"
#include "tern/plugin/export.h"

namespace {

class SafetensorsFormat final : public tern::FormatPlugin {
 public:
  const char* name() const override { return "safetensors"; }
  int probe(const std::filesystem::path& path) const override { return tern::safetensors::probe(path); }
  std::unique_ptr<tern::ModelFile> load(const std::filesystem::path& path) const override {
    return tern::safetensors::read(path);
  }
  bool can_write() const override { return true; }
  void write(const tern::ModelFile& m, const std::filesystem::path& path,
             const tern::WriteOptions& options) const override {
    tern::safetensors::write(m, path, options);
  }
};

}  // namespace

TERN_FORMAT_PLUGIN(new SafetensorsFormat())
