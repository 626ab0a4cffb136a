// Chat templates from untrusted bytes (a GGUF's tokenizer.chat_template is model-supplied): parsing and
// rendering must end in output or a tern::Error, never a crash, a hang or unbounded memory. Rendered with a
// fixed multi-turn conversation, and with the input's tail as the JSON context when it has a 0 byte.
#include <cstdint>
#include <string>

#include "tern/chat_template.h"
#include "tern/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string source = input.substr(0, split);
  try {
    const tern::ChatTemplate t(source, "fuzz");
    t.render({{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "2+2?"}}, true,
             "<s>", "</s>");
    if (split != std::string::npos) t.render_json(input.substr(split + 1));
  } catch (const tern::Error&) {
  }
  return 0;
}
