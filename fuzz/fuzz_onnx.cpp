// ONNX reader: the input is split into config.json, model.onnx and model.onnx.data, written into a private
// directory and read as an ONNX model directory.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "../formats/onnx/onnx_reader.h"
#include "fuzz_input_file.h"
#include "tern/error.h"

namespace fs = std::filesystem;

namespace {

void write_part(const fs::path& p, const uint8_t* d, size_t n) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(d), std::streamsize(n));
}

}  // namespace

// Input layout: u16 length of config.json, u32 length of model.onnx, then config, model, external data.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tern::fuzz::ScratchDirectory scratch("onnx");
  const fs::path& dir = scratch.path();
  if (size < 6) return 0;
  uint16_t n_cfg;
  uint32_t n_model;
  std::memcpy(&n_cfg, data, 2);
  std::memcpy(&n_model, data + 2, 4);
  data += 6, size -= 6;
  if (size_t(n_cfg) + n_model > size) return 0;
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_part(dir / "config.json", data, n_cfg);
  write_part(dir / "model.onnx", data + n_cfg, n_model);
  write_part(dir / "model.onnx.data", data + n_cfg + n_model, size - n_cfg - n_model);
  try {
    (void)tern::onnx::read(dir);
  } catch (const tern::Error&) {
  }
  return 0;
}
