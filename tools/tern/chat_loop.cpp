// `tern run -cnv`: an interactive chat with the model's own template. The history stays in the KV cache:
// each turn renders the whole conversation and feeds only the text past what the cache already holds (the
// previous render plus the reply as generated), so a turn costs its own tokens, not the conversation's.
// Templates whose output is not prefix-stable (one that rewrites earlier turns) make tern re-feed it all.
#include "chat_loop.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "interrupt.h"
#include "tern/chat_template.h"
#include "tern/error.h"
#include "tern/sampler.h"
#include "tool_util.h"

namespace tern::cli {
namespace {

// Ctrl-C at the prompt interrupts the read (no SA_RESTART): that ends the session.
bool read_line(std::string& line) {
  line.clear();
  while (true) {
    const int c = std::fgetc(stdin);
    if (c == EOF) return !line.empty() && !interrupted();
    if (c == '\n') return true;
    line += char(c);
  }
}

}  // namespace

int run_conversation(const ChatSetup& setup, Session& session, const Tokenizer& tokenizer) {
  const std::string bos = token_text(tokenizer, tokenizer.bos()),
                    eos = token_text(tokenizer, tokenizer.eos());
  const ChatTemplate tmpl(setup.chat_template, setup.model_path);
  std::vector<ChatMessage> messages;
  if (!setup.system_prompt.empty()) messages.push_back({"system", setup.system_prompt});
  const bool tty = isatty(STDIN_FILENO);
  InterruptGuard guard;
  Sampler sampler(setup.sampler);
  std::string in_cache;  // the text whose tokens the KV cache holds
  std::string line;
  int turns = 0, generated_total = 0;
  while (true) {
    std::fputs("\n> ", stdout);
    std::fflush(stdout);
    interrupt_flag() = false;
    if (!read_line(line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line.empty()) continue;
    if (!tty) std::printf("%s\n", line.c_str());  // echo piped input so transcripts read like a session
    messages.push_back({"user", line});
    const std::string rendered = tmpl.render(messages, true, bos, eos);
    std::vector<int32_t> feed;
    if (session.position() > 0 && rendered.compare(0, in_cache.size(), in_cache) == 0) {
      feed = tokenizer.encode(std::string_view(rendered).substr(in_cache.size()), false);
    } else {
      session.reset();
      feed = tokenizer.encode(rendered, chat_prompt_needs_bos(tokenizer, rendered));
    }
    if (session.position() + feed.size() + 1 > session.n_ctx()) {
      std::fprintf(stderr,
                   "tern: the conversation fills the context of %zu tokens: start a new one or raise --ctx\n",
                   session.n_ctx());
      return 1;
    }
    const std::vector<float>* logits = &session.eval(feed);
    sampler.accept(feed);
    in_cache = rendered;
    std::string reply;
    StopStrings stops(setup.stop);
    for (int n = 0; n < setup.n_predict && !interrupted(); ++n) {
      const int32_t next = sampler.sample(*logits);
      sampler.accept(next);
      if (tokenizer.is_end_of_generation(next)) break;
      const std::string text = tokenizer.token_to_piece(next);
      const std::string shown = stops.feed(text);
      std::fputs(shown.c_str(), stdout);
      std::fflush(stdout);
      reply += shown;
      ++generated_total;
      if (stops.stopped()) break;
      if (session.position() + 1 >= session.n_ctx()) break;
      logits = &session.eval({next});
      in_cache += text;
    }
    // in_cache ends at the last evaluated token: the last one sampled (the end of turn, or the one -n cut
    // off) comes back with the next turn's text.
    const std::string rest = stops.flush();
    std::fputs(rest.c_str(), stdout);
    reply += rest;
    if (interrupted()) std::fputs(" [stopped]", stdout);
    std::fputs("\n", stdout);
    messages.push_back({"assistant", reply});
    ++turns;
  }
  std::fputs("\n", stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "conversation: %d turns, %d tokens generated\n", turns, generated_total);
  return 0;
}

}  // namespace tern::cli
