// GGUF reader, then everything that trusts its output: hyper-parameters, the model's tensor checks on the
// reference backend, the vocabulary and the tokenizer built from the metadata.
#include <memory>

#include "../formats/gguf/gguf.h"
#include "fuzz_input_file.h"
#include "reference_backend.h"
#include "tern/error.h"
#include "tern/model.h"
#include "tern/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tern::fuzz::InputFile file("fuzz.gguf");
  static const auto backend = std::make_shared<tern::ReferenceBackend>();
  std::unique_ptr<tern::ModelFile> mf;
  try {
    mf = tern::gguf::read(file.set(data, size));
  } catch (const tern::Error&) {
    return 0;
  }
  try {
    auto tok = tern::Tokenizer::from_model_file(*mf);
    const auto ids = tok->encode("Hello world, <s> 123", true);
    (void)tok->decode(ids);
  } catch (const tern::Error&) {
  }
  try {
    tern::Model model(std::make_unique<tern::ModelFile>(*mf), backend);
  } catch (const tern::Error&) {
  }
  return 0;
}
