#pragma once
// All-or-nothing output of a set of files (a GGUF with its .fingerprint and .meta.json): `tern export` and
// `tern quantize` either leave their whole set in OUT_DIR or nothing new there.
#include <pthread.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tern::cli {

class OutputSet {
 public:
  // Creates OUT_DIR (a clear error if it is a file or cannot be made) and a hidden staging directory inside
  // it. From here until commit() or destruction, SIGINT / SIGTERM remove the staging directory and exit 130 /
  // 143 instead of leaving half a set behind.
  explicit OutputSet(const std::filesystem::path& out_dir);
  ~OutputSet();  // removes the staging directory (and everything in it) unless committed
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  // Where to write `name` now; commit() moves it to OUT_DIR/name.
  std::filesystem::path staged(const std::string& name);
  std::filesystem::path final_path(const std::string& name) const { return out_dir_ / name; }
  std::filesystem::path staged_path(const std::string& name) const { return staging_ / name; }
  // Every regular file staged so far (inside staged directories too), as {path relative to OUT_DIR, where
  // it is now}, sorted by the relative path.
  std::vector<std::pair<std::string, std::filesystem::path>> staged_files() const;
  // Moves every staged file into OUT_DIR, the one named first last (so it never appears without the others).
  void commit();

 private:
  void watch_signals();
  void stop_watching();
  void remove_staging();

  std::filesystem::path out_dir_, staging_;
  std::vector<std::string> names_;
  bool committed_ = false;
  std::mutex mu_;  // held by commit() and by the signal watcher's cleanup: one of them runs to the end
  std::thread watcher_;
  sigset_t old_mask_{};
};

}  // namespace tern::cli
