#include "tern/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <vector>

#include "tern/error.h"

namespace tern {

void Sha256::Free::operator()(evp_md_ctx_st* ctx) const {
  EVP_MD_CTX_free(ctx);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
    throw Error("sha256: libcrypto could not start a SHA-256 digest");
}

void Sha256::update(const void* data, size_t n) {
  if (EVP_DigestUpdate(ctx_.get(), data, n) != 1) throw Error("sha256: libcrypto digest update failed");
}

std::array<uint8_t, 32> Sha256::finish() {
  std::array<uint8_t, 32> out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1 || len != out.size())
    throw Error("sha256: libcrypto digest final failed");
  return out;
}

std::string Sha256::finish_hex() {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : finish()) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string sha256_hex(const void* data, size_t n) {
  Sha256 h;
  h.update(data, n);
  return h.finish_hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) throw Error(path.string() + ": cannot open for hashing");
  Sha256 h;
  std::vector<uint8_t> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.update(buf.data(), n);
  if (std::ferror(f.get())) throw Error(path.string() + ": read error while hashing");
  return h.finish_hex();
}

}  // namespace tern
