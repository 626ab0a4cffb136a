#pragma once
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace tern {

struct SamplerParams {
  float temperature = 0.8f;  // <= 0: greedy (argmax, deterministic)
  int top_k = 40;            // <= 0: disabled
  float top_p = 0.95f;       // >= 1: disabled
  float min_p = 0.0f;        // keep tokens with p >= min_p * p(most likely); 0: disabled
  // Penalties on the last repeat_last_n tokens seen (prompt and output), as llama.cpp applies them: a logit
  // is divided (if positive) or multiplied by repeat_penalty, then lowered by frequency_penalty per
  // occurrence and by presence_penalty once. They apply to greedy decoding too.
  float repeat_penalty = 1.0f;  // 1: disabled
  int repeat_last_n = 64;       // 0: disabled
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {}
  // Picks the next token; call accept() with it (and with the prompt's tokens) so penalties see it.
  int32_t sample(const std::vector<float>& logits);
  void accept(int32_t token);
  void accept(const std::vector<int32_t>& tokens);

 private:
  bool penalties_on() const;
  SamplerParams p_;
  std::mt19937_64 rng_;
  std::deque<int32_t> recent_;  // the last repeat_last_n accepted tokens
  std::unordered_map<int32_t, int> counts_;
  std::vector<float> scratch_;
};

int32_t argmax(const std::vector<float>& v);

// Stop strings over streamed text: feed() each decoded piece and print what it returns. Text that could be
// the start of a stop string is held back until it is known not to be; once a stop string appears, the text
// before it is returned, stopped() turns true, and the stop string itself is never returned.
class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  std::string feed(const std::string& piece);
  std::string flush();  // at the end of generation: whatever is held back
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace tern
