// Tokenizer loaders: the first byte picks tokenizer.json (even) or tokenizer.model (odd); a loaded tokenizer
// then encodes and decodes a fixed text.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_input_file.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tern::fuzz::ScratchDirectory scratch("tokenizer");
  const fs::path& dir = scratch.path();
  if (size < 1) return 0;
  const fs::path p = dir / ((data[0] & 1) ? "tokenizer.model" : "tokenizer.json");
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(data + 1), std::streamsize(size - 1));
  try {
    auto tok = tern::Tokenizer::from_file(p);
    const auto ids = tok->encode("Hello world! \xc3\xa9t\xc3\xa9 <|begin_of_text|> 12345", true);
    (void)tok->decode(ids);
  } catch (const tern::Error&) {
  }
  fs::remove(p);
  return 0;
}
