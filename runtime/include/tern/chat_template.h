#pragma once
// Chat templates: the Jinja templates models ship (GGUF `tokenizer.chat_template`, tokenizer_config.json
// `chat_template`), rendered as Hugging Face transformers' apply_chat_template does: trim_blocks and
// lstrip_blocks, loop controls, and its globals (raise_exception, strftime_now) and tojson. The interpreter
// is tern's own (runtime/src/jinja/): no per-model strings. Anything it does not support fails when the
// template is loaded, with one line naming the construct and the template line.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

class ChatTemplate {
 public:
  // `name` says where the template came from, for error messages ("model.gguf: chat template line 3: ...").
  ChatTemplate(const std::string& source, std::string name);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders `messages` with bos_token / eos_token set, and the assistant's header appended when
  // add_generation_prompt is set (if the template does so).
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const std::string& bos_token, const std::string& eos_token) const;
  // Renders with every variable given as one JSON object (messages, add_generation_prompt, bos_token, tools,
  // ...), as apply_chat_template's keyword arguments.
  std::string render_json(std::string_view context_json) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern
