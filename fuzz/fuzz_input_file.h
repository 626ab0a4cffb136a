#pragma once
// Hands a fuzz input to readers that take a path: the bytes go into an in-memory file (memfd) reached as
// /proc/self/fd/N, so no disk traffic and no temporary files left behind by a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tern::fuzz {

class InputFile {
 public:
  explicit InputFile(const char* name) : fd_(memfd_create(name, MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~InputFile() { close(fd_); }
  const std::string& set(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0 || (size && pwrite(fd_, data, size, 0) != ssize_t(size))) std::abort();
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// A private directory for targets whose readers need several named files: in /dev/shm (memory) when there is
// one, removed at exit.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(const char* what)
      : path_(std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/tern-fuzz-" + what + "-" +
              std::to_string(getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace tern::fuzz
