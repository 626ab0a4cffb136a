#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tern {

// A read-only memory mapping of a whole file. Throws tern::Error naming the file on failure.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// A named run of bytes inside a file's data section (a tensor's data), for check_disjoint.
struct ByteRange {
  uint64_t offset = 0, size = 0;
  std::string name;
};
// Throws tern::Error "<where>: tensors A and B overlap in the data section" if any two ranges share a byte:
// a format reader's guard against tensors aliasing each other's weights. Ranges must already lie in the file.
void check_disjoint(std::vector<ByteRange> ranges, const std::string& where);

// Writes via a temporary file in the same directory and renames it into place, so readers never see a
// half-written file. The callback receives the temporary path; on exception the temporary is removed.
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);
// `text` as the whole of `path`, through write_atomically.
void write_text_atomically(const std::filesystem::path& path, const std::string& text);
// The same for a directory of files: `write` fills a hidden sibling directory, renamed to `dir` (which must
// not exist yet) when it returns; on exception the sibling is removed.
void write_directory_atomically(const std::filesystem::path& dir,
                                const std::function<void(const std::filesystem::path& tmp_dir)>& write);

}  // namespace tern
