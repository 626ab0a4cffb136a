#include "tern/generate.h"

#include <chrono>
#include <cmath>

#include "tern/error.h"
#include "tern/sampler.h"

namespace tern {

void check_tokenizer_matches(const Tokenizer& tokenizer, const Model& model, const std::string& model_path) {
  const size_t n_tok = tokenizer.n_vocab(), n_rows = model.hparams().n_vocab;
  if (n_tok != n_rows)
    throw Error(model_path + ": the tokenizer has " + std::to_string(n_tok) +
                " tokens but the model's embedding has " + std::to_string(n_rows) + " rows");
}

GreedyResult generate_greedy(const Model& model, const Tokenizer& tokenizer, const std::string& prompt,
                             size_t n_tokens, size_t n_threads) {
  using clock = std::chrono::steady_clock;
  GreedyResult r;
  r.prompt_tokens = tokenizer.encode(prompt, tokenizer.vocab().add_bos);
  if (r.prompt_tokens.empty()) throw Error("prompt '" + prompt + "' encodes to no tokens");
  const size_t n_ctx = r.prompt_tokens.size() + n_tokens;
  if (model.hparams().n_ctx_train && n_ctx > model.hparams().n_ctx_train)
    throw Error("prompt plus " + std::to_string(n_tokens) + " tokens exceeds the model's context of " +
                std::to_string(model.hparams().n_ctx_train));
  Session session(model, n_ctx, n_threads);
  auto t0 = clock::now();
  const std::vector<float>* logits = &session.eval(r.prompt_tokens);
  r.prompt_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  t0 = clock::now();
  for (size_t i = 0; i < n_tokens; ++i) {
    for (float v : *logits) r.all_logits_finite = r.all_logits_finite && std::isfinite(v);
    const int32_t next = argmax(*logits);
    if (tokenizer.is_end_of_generation(next)) break;
    r.tokens.push_back(next);
    if (i + 1 < n_tokens) logits = &session.eval({next});
  }
  r.gen_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  r.text = tokenizer.decode(r.tokens);
  return r;
}

}  // namespace tern
