// The tokenizers on arbitrary text: SentencePiece (TinyStories), Llama 3 byte-level BPE and GPT-2 BPE, loaded
// once from ../shared. Byte-level BPE must give back exactly any valid UTF-8 text without special-token text
// (invalid UTF-8 becomes U+FFFD, as in llama.cpp).
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tern/error.h"
#include "tern/tokenizer.h"

namespace {

std::vector<std::unique_ptr<tern::Tokenizer>> load() {
  std::vector<std::unique_ptr<tern::Tokenizer>> t;
  const std::string shared = TERN_SHARED_DIR;
  t.push_back(tern::Tokenizer::from_file(shared + "/models/bitnet-tinystories-3m-packed/tokenizer.model"));
  t.push_back(tern::Tokenizer::from_file(shared + "/tokenizers/llama3/tokenizer.json"));
  return t;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!n || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) return false;
      cp = cp << 6 | (d & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tokenizers = load();
  if (size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& tok : tokenizers) {
    const auto ids = tok->encode(text, false);
    for (auto id : ids)
      if (id < 0 || size_t(id) >= tok->n_vocab()) std::abort();
    const std::string back = tok->decode(ids);
    const bool byte_level = tok->vocab().kind == tern::Vocab::Kind::Bpe;
    if (byte_level && valid_utf8(text) && text.find('<') == std::string::npos && back != text) std::abort();
  }
  return 0;
}
