#pragma once
// The interactive conversation of `tern run -cnv` (chat_loop.cpp).
#include <string>
#include <vector>

#include "tern/model.h"
#include "tern/sampler.h"
#include "tern/tokenizer.h"

namespace tern::cli {

struct ChatSetup {
  std::string model_path;     // for messages
  std::string chat_template;  // the model's tokenizer.chat_template
  std::string system_prompt;  // -sys; none when empty
  SamplerParams sampler;
  int n_predict = 0;              // per reply
  std::vector<std::string> stop;  // --stop strings
};

// Reads user lines from stdin until /exit or end of input and streams each reply; Ctrl-C stops a reply.
// Returns the exit code.
int run_conversation(const ChatSetup& setup, Session& session, const Tokenizer& tokenizer);

}  // namespace tern::cli
