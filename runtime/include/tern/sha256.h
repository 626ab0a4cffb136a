#pragma once
// SHA-256 (FIPS 180-4), for model fingerprints and export checksums. Fingerprints are written as
// "sha256-<64 hex digits>".
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace tern {

// Backed by OpenSSL's libcrypto, which picks the CPU's SHA instructions (x86 SHA-NI, Armv8 SHA2) at run time:
// export hashes every byte it writes, so the hash's speed is export's.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  std::array<uint8_t, 32> finish();
  std::string finish_hex();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

std::string sha256_hex(const void* data, size_t n);
// Hashes a file without reading it into memory at once; throws tern::Error naming the file.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace tern
