// Hugging Face checkpoint reader: the input is split into config.json, model.safetensors and (when present)
// model.safetensors.index.json, written into a private directory and read as a checkpoint.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "../formats/safetensors/safetensors.h"
#include "fuzz_input_file.h"
#include "tern/error.h"

namespace fs = std::filesystem;

namespace {

// Input layout: u16 length of config.json, u16 length of the index (0: none), then config, index,
// safetensors.
void write_part(const fs::path& p, const uint8_t* d, size_t n) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(d), std::streamsize(n));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tern::fuzz::ScratchDirectory scratch("safetensors");
  const fs::path& dir = scratch.path();
  if (size < 4) return 0;
  uint16_t n_cfg, n_idx;
  std::memcpy(&n_cfg, data, 2);
  std::memcpy(&n_idx, data + 2, 2);
  data += 4, size -= 4;
  if (size_t(n_cfg) + n_idx > size) return 0;
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_part(dir / "config.json", data, n_cfg);
  if (n_idx) write_part(dir / "model.safetensors.index.json", data + n_cfg, n_idx);
  write_part(dir / "model.safetensors", data + n_cfg + n_idx, size - n_cfg - n_idx);
  try {
    (void)tern::safetensors::read(dir);
  } catch (const tern::Error&) {
  }
  return 0;
}
