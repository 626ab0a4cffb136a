#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace tern {

struct SamplerParams {
  float temperature = 0.8f;  // <= 0: greedy (argmax, deterministic)
  int top_k = 40;            // <= 0: disabled
  float top_p = 0.95f;       // >= 1: disabled
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {}
  int32_t sample(const std::vector<float>& logits);

 private:
  SamplerParams p_;
  std::mt19937_64 rng_;
};

int32_t argmax(const std::vector<float>& v);

}  // namespace tern
