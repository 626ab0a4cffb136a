#pragma once
// Deterministic greedy generation, the probe behind `tern validate`, `tern baseline` and `tern manifest`.
#include <cstdint>
#include <string>
#include <vector>

#include "tern/model.h"
#include "tern/tokenizer.h"

namespace tern {

struct GreedyResult {
  std::vector<int32_t> prompt_tokens, tokens;  // tokens: generated ids, without an end-of-generation token
  std::string text;                            // the generated continuation (without the prompt)
  double prompt_seconds = 0, gen_seconds = 0;
  bool all_logits_finite = true;
};

// Throws tern::Error (naming `model_path`) unless the tokenizer has exactly one token per embedding row, as
// llama.cpp requires: with fewer, the rows past the vocabulary would be generated and printed as U+FFFD; with
// more, token ids would index past the embedding.
void check_tokenizer_matches(const Tokenizer& tokenizer, const Model& model, const std::string& model_path);

// Encodes `prompt` (with BOS when the vocabulary asks for it), then takes the argmax `n_tokens` times or
// until an end-of-generation token. Uses a fresh session of `n_threads` threads.
GreedyResult generate_greedy(const Model& model, const Tokenizer& tokenizer, const std::string& prompt,
                             size_t n_tokens, size_t n_threads = 1);

}  // namespace tern
