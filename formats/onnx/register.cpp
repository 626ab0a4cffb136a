#include "onnx_reader.h"
#include "onnx_writer.h"
#include "tern/error.h"
#include "tern/plugin/export.h"

namespace {

class OnnxFormat final : public tern::FormatPlugin {
 public:
  const char* name() const override { return "onnx"; }
  int probe(const std::filesystem::path& path) const override { return tern::onnx::probe(path); }
  std::unique_ptr<tern::ModelFile> load(const std::filesystem::path& path) const override {
    return tern::onnx::read(path);
  }
  bool can_write() const override { return true; }
  void write(const tern::ModelFile& m, const std::filesystem::path& path,
             const tern::WriteOptions& options) const override {
    tern::onnx::write(m, path, options);
  }
};

}  // namespace

TERN_FORMAT_PLUGIN(new OnnxFormat())
