#include "tern/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "tern/error.h"

namespace tern {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = size_t(st.st_size);
  if (m->size_ > 0) {
    void* p = mmap(nullptr, m->size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw Error(path + ": cannot mmap: " + std::strerror(e));
    }
    m->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return m;
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

void check_disjoint(std::vector<ByteRange> ranges, const std::string& where) {
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].offset - ranges[i - 1].offset < ranges[i - 1].size)
      throw Error(where + ": tensors " + ranges[i - 1].name + " and " + ranges[i].name +
                  " overlap in the data section");
}

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  std::random_device rd;
  const std::string tmp = path + ".tmp-" + std::to_string(rd() % 1000000);
  try {
    write(tmp);
    std::filesystem::rename(tmp, path);
  } catch (const std::filesystem::filesystem_error& e) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": cannot write: " + e.code().message());
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

void write_text_atomically(const std::filesystem::path& path, const std::string& text) {
  write_atomically(path.string(), [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(text.data(), std::streamsize(text.size()));
    if (!out.flush()) throw Error(path.string() + ": write failed");
  });
}

void write_directory_atomically(const std::filesystem::path& dir,
                                const std::function<void(const std::filesystem::path&)>& write) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) throw Error(dir.string() + ": already exists; the writer makes a new directory");
  std::random_device rd;
  std::string name(1, '.');  // hidden; built by appending (GCC 12 warns falsely on "." + std::string)
  name.append(dir.filename().string()).append(".partial-").append(std::to_string(rd() % 1000000));
  const fs::path tmp = dir.parent_path() / name;
  if (!fs::create_directories(tmp, ec) || ec)
    throw Error(tmp.string() + ": cannot create directory: " + (ec ? ec.message() : "it already exists"));
  try {
    write(tmp);
    fs::rename(tmp, dir);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw Error(dir.string() + ": cannot write: " + e.code().message());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace tern
