#include "tern/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tern {

int32_t argmax(const std::vector<float>& v) {
  return int32_t(std::max_element(v.begin(), v.end()) - v.begin());
}

int32_t Sampler::sample(const std::vector<float>& logits) {
  if (p_.temperature <= 0.0f) return argmax(logits);
  std::vector<int32_t> idx(logits.size());
  std::iota(idx.begin(), idx.end(), 0);
  size_t k = idx.size();
  if (p_.top_k > 0 && size_t(p_.top_k) < k) k = size_t(p_.top_k);
  std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  idx.resize(k);
  std::vector<double> prob(k);
  const double mx = logits[idx[0]];
  double sum = 0;
  for (size_t i = 0; i < k; ++i) sum += prob[i] = std::exp((logits[idx[i]] - mx) / p_.temperature);
  size_t keep = k;
  if (p_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < k; ++i) {
      cum += prob[i] / sum;
      if (cum >= p_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  std::discrete_distribution<size_t> dist(prob.begin(), prob.begin() + long(keep));
  return idx[dist(rng_)];
}

}  // namespace tern
