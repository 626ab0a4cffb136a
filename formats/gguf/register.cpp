#include <cstring>
#include <fstream>

#include "gguf.h"
#include "tern/error.h"
#include "tern/plugin/export.h"

namespace {

class GgufFormat final : public tern::FormatPlugin {
 public:
  const char* name() const override { return "gguf"; }
  int probe(const std::filesystem::path& path) const override {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return 0;
    char magic[4] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(magic, 4);
    if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return 100;
    // Claim *.gguf files without the magic so the user hears "wrong magic" rather than "unknown format".
    return path.extension() == ".gguf" ? 10 : 0;
  }
  std::unique_ptr<tern::ModelFile> load(const std::filesystem::path& path) const override {
    return tern::gguf::read(path);
  }
  bool can_write() const override { return true; }
  void write(const tern::ModelFile& m, const std::filesystem::path& path,
             const tern::WriteOptions& options) const override {
    if (!options.empty())
      throw tern::Error(path.string() + ": the gguf writer has no option '" + options.begin()->first + "'");
    tern::gguf::write(m, path);
  }
};

}  // namespace

TERN_FORMAT_PLUGIN(new GgufFormat())
