#include "onnx_writer.h"
#include "tern/error.h"
#include "tern/plugin/export.h"

namespace {

// Writing only, for now: probe claims nothing, so ONNX files are not routed to this plugin for reading.
class OnnxFormat final : public tern::FormatPlugin {
 public:
  const char* name() const override { return "onnx"; }
  int probe(const std::filesystem::path&) const override { return 0; }
  std::unique_ptr<tern::ModelFile> load(const std::filesystem::path& path) const override {
    throw tern::Error(path.string() + ": the onnx plugin writes ONNX models but does not read them");
  }
  bool can_write() const override { return true; }
  void write(const tern::ModelFile& m, const std::filesystem::path& path,
             const tern::WriteOptions& options) const override {
    tern::onnx::write(m, path, options);
  }
};

}  // namespace

TERN_FORMAT_PLUGIN(new OnnxFormat())
