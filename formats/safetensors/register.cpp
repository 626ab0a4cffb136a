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
};

}  // namespace

TERN_FORMAT_PLUGIN(new SafetensorsFormat())
