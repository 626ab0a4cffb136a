#pragma once
// Finds, loads and chooses plugins. Search path: $TERN_PLUGIN_PATH (':'-separated), then <exe dir>/plugins,
// then <exe dir>/../lib/tern/plugins.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tern/plugin/backend_api.h"
#include "tern/plugin/format_api.h"

namespace tern {

struct PluginRecord {
  std::string path;
  std::string kind;  // "backend" / "format" / "" when it could not be read
  std::string name;
  std::string description;
  int priority = 0;
  std::string requires_features;
  bool loaded = false;  // passed ABI check and was created
  bool usable = false;  // CPU has the required features
  std::string problem;  // why it was skipped, empty if fine
};

class Registry {
 public:
  // Scans the plugin directories once. Problems with individual plugins are recorded, not thrown.
  static Registry& instance();

  const std::vector<PluginRecord>& plugins() const { return records_; }
  std::vector<std::filesystem::path> search_path() const;

  // The backend named `name` (throws if missing/unusable), or the best usable one when name is empty.
  // `why` receives a one-line reason for the choice.
  std::shared_ptr<Backend> backend(const std::string& name = "", std::string* why = nullptr);
  std::vector<std::string> usable_backends() const;

  // The format plugin that claims `path` most strongly; throws naming the file if none does.
  const FormatPlugin& format_for(const std::filesystem::path& path) const;
  const FormatPlugin& format(const std::string& name) const;

  void rescan();

 private:
  Registry();
  struct Loaded;
  std::vector<PluginRecord> records_;
  std::vector<std::shared_ptr<Loaded>> loaded_;
};

// Convenience: load a model file with the matching format plugin.
std::unique_ptr<ModelFile> load_model_file(const std::filesystem::path& path);

}  // namespace tern
