#include "tern/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <sstream>

#include "tern/cpu_features.h"
#include "tern/error.h"

namespace fs = std::filesystem;

namespace tern {

struct Registry::Loaded {
  boost::dll::shared_library lib;
  size_t record = 0;
  std::shared_ptr<Backend> backend;
  std::unique_ptr<FormatPlugin> format;
};

namespace {

fs::path exe_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : p.parent_path();
}

std::string missing_features(const std::string& required) {
  std::istringstream is(required);
  std::string missing;
  for (std::string f; is >> f;)
    if (!cpu_features().has(f)) missing += (missing.empty() ? "" : " ") + f;
  return missing;
}

}  // namespace

Registry& Registry::instance() {
  static Registry r;
  return r;
}

Registry::Registry() {
  rescan();
}

std::vector<fs::path> Registry::search_path() const {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("TERN_PLUGIN_PATH")) {
    std::string s(env);
    for (size_t pos = 0; pos <= s.size();) {
      size_t next = s.find(':', pos);
      if (next == std::string::npos) next = s.size();
      if (next > pos) dirs.emplace_back(s.substr(pos, next - pos));
      pos = next + 1;
    }
  }
  const auto exe = exe_dir();
  dirs.push_back(exe / "plugins");
  dirs.push_back(exe / ".." / "lib" / "tern" / "plugins");
  return dirs;
}

void Registry::rescan() {
  records_.clear();
  loaded_.clear();
  std::vector<fs::path> files;
  for (const auto& dir : search_path()) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> here;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".so" && e.path().filename().string().rfind("libtern_", 0) == 0)
        here.push_back(e.path());
    std::sort(here.begin(), here.end());
    files.insert(files.end(), here.begin(), here.end());
  }
  for (const auto& file : files) {
    PluginRecord rec;
    rec.path = file.string();
    rec.name = file.stem().string();
    // The same plugin name found twice (e.g. TERN_PLUGIN_PATH and the build tree): the first one wins.
    auto loaded = std::make_shared<Loaded>();
    try {
      // RTLD_NODELETE: a plugin's dependencies (libgomp under oneDNN) keep process-lifetime state that would
      // be unmapped, and reported as leaked by LeakSanitizer, if the plugin were unloaded at exit.
      loaded->lib.load(boost::dll::fs::path(file.string()),
                       boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local |
                           static_cast<boost::dll::load_mode::type>(RTLD_NODELETE));
      if (!loaded->lib.has("tern_plugin_abi_version") || !loaded->lib.has("tern_plugin_kind")) {
        rec.problem = "not a tern plugin (missing tern_plugin_abi_version / tern_plugin_kind)";
      } else {
        rec.kind = loaded->lib.get<tern_plugin_kind_fn>("tern_plugin_kind")();
        const uint32_t abi = loaded->lib.get<tern_plugin_abi_version_fn>("tern_plugin_abi_version")();
        const uint32_t want = rec.kind == "backend" ? kBackendAbiVersion : kFormatAbiVersion;
        if (rec.kind != "backend" && rec.kind != "format") {
          rec.problem = "unknown plugin kind '" + rec.kind + "'";
        } else if (abi != want) {
          rec.problem = "ABI version " + std::to_string(abi) + ", this tern needs " + std::to_string(want);
        } else if (rec.kind == "backend") {
          const BackendInfo* info = loaded->lib.get<tern_backend_info_fn>("tern_backend_info")();
          rec.name = info->name;
          rec.description = info->description;
          rec.priority = info->priority;
          rec.requires_features = info->requires_features;
          const auto missing = missing_features(rec.requires_features);
          if (!missing.empty()) {
            rec.problem = "CPU lacks " + missing;
          } else {
            loaded->backend.reset(loaded->lib.get<tern_backend_create_fn>("tern_backend_create")());
            rec.loaded = rec.usable = loaded->backend != nullptr;
            if (!rec.usable) rec.problem = "tern_backend_create returned null";
          }
        } else {
          loaded->format.reset(loaded->lib.get<tern_format_create_fn>("tern_format_create")());
          if (loaded->format) {
            rec.name = loaded->format->name();
            rec.loaded = rec.usable = true;
          } else {
            rec.problem = "tern_format_create returned null";
          }
        }
      }
    } catch (const std::exception& e) {
      rec.problem = std::string("cannot load: ") + e.what();
    }
    for (const auto& other : records_)
      if (rec.usable && other.usable && other.kind == rec.kind && other.name == rec.name) {
        rec.usable = false;
        rec.problem = "duplicate of " + other.path;
      }
    if (rec.usable) {
      loaded->record = records_.size();
      loaded_.push_back(loaded);
    }
    records_.push_back(rec);
  }
}

std::vector<std::string> Registry::usable_backends() const {
  std::vector<std::pair<int, std::string>> v;
  for (const auto& l : loaded_)
    if (l->backend) v.emplace_back(records_[l->record].priority, records_[l->record].name);
  std::sort(v.begin(), v.end(), std::greater<>());
  std::vector<std::string> names;
  for (auto& p : v) names.push_back(p.second);
  return names;
}

std::shared_ptr<Backend> Registry::backend(const std::string& name, std::string* why) {
  if (!name.empty()) {
    for (const auto& l : loaded_)
      if (l->backend && records_[l->record].name == name) {
        if (why) *why = "requested with --backend";
        return l->backend;
      }
    for (const auto& r : records_)
      if (r.kind == "backend" && r.name == name)
        throw Error("backend '" + name + "' (" + r.path + ") is not usable: " + r.problem);
    throw Error("backend '" + name + "' not found; run 'tern backends' to list plugins");
  }
  const Loaded* best = nullptr;
  for (const auto& l : loaded_)
    if (l->backend && (!best || records_[l->record].priority > records_[best->record].priority))
      best = l.get();
  if (!best) {
    std::string dirs;
    for (const auto& d : search_path()) dirs += (dirs.empty() ? "" : ", ") + d.string();
    throw Error("no usable backend plugin found (searched " + dirs + ")");
  }
  if (why) {
    const auto& r = records_[best->record];
    *why = "highest priority (" + std::to_string(r.priority) + ") among usable backends" +
           (r.requires_features.empty() ? "" : "; CPU has " + r.requires_features);
  }
  return best->backend;
}

const FormatPlugin& Registry::format_for(const fs::path& path) const {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file or directory");
  const FormatPlugin* best = nullptr;
  int best_score = 0;
  for (const auto& l : loaded_)
    if (l->format) {
      const int s = l->format->probe(path);
      if (s > best_score) best_score = s, best = l->format.get();
    }
  if (!best) {
    std::string names;
    for (const auto& l : loaded_)
      if (l->format) names += (names.empty() ? "" : ", ") + std::string(l->format->name());
    throw Error(path.string() + ": unrecognized model format (format plugins loaded: " +
                (names.empty() ? "none" : names) + ")");
  }
  return *best;
}

const FormatPlugin& Registry::format(const std::string& name) const {
  for (const auto& l : loaded_)
    if (l->format && name == l->format->name()) return *l->format;
  throw Error("format plugin '" + name + "' not found; run 'tern backends' to list plugins");
}

std::unique_ptr<ModelFile> load_model_file(const fs::path& path) {
  return Registry::instance().format_for(path).load(path);
}

}  // namespace tern
