#pragma once
// SHA-256 (FIPS 180-4), for model fingerprints. Fingerprints are written as "sha256-<64 hex digits>".
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace tern {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  std::array<uint8_t, 32> finish();
  std::string finish_hex();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const void* data, size_t n);
// Hashes a file without reading it into memory at once; throws tern::Error naming the file.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace tern
