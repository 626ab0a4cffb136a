#include "tern/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tern {

int32_t argmax(const std::vector<float>& v) {
  return int32_t(std::max_element(v.begin(), v.end()) - v.begin());
}

bool Sampler::penalties_on() const {
  return p_.repeat_last_n != 0 &&
         (p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f);
}

void Sampler::accept(int32_t token) {
  if (!penalties_on()) return;
  recent_.push_back(token);
  ++counts_[token];
  if (p_.repeat_last_n > 0 && recent_.size() > size_t(p_.repeat_last_n)) {
    if (--counts_[recent_.front()] == 0) counts_.erase(recent_.front());
    recent_.pop_front();
  }
}

void Sampler::accept(const std::vector<int32_t>& tokens) {
  for (int32_t t : tokens) accept(t);
}

int32_t Sampler::sample(const std::vector<float>& raw_logits) {
  const std::vector<float>* lp = &raw_logits;
  if (penalties_on() && !counts_.empty()) {
    scratch_ = raw_logits;
    for (const auto& [tok, n] : counts_) {
      if (tok < 0 || size_t(tok) >= scratch_.size()) continue;
      float& l = scratch_[size_t(tok)];
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
      l -= float(n) * p_.frequency_penalty + p_.presence_penalty;
    }
    lp = &scratch_;
  }
  const std::vector<float>& logits = *lp;
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
  if (p_.min_p > 0.0f) {  // prob[0] is the most likely token's (unnormalized)
    size_t n = 1;
    while (n < keep && prob[n] >= double(p_.min_p) * prob[0]) ++n;
    keep = n;
  }
  std::discrete_distribution<size_t> dist(prob.begin(), prob.begin() + long(keep));
  return idx[dist(rng_)];
}

std::string StopStrings::feed(const std::string& piece) {
  if (stopped_) return "";
  held_ += piece;
  size_t first = std::string::npos;
  for (const auto& s : stops_)
    if (!s.empty()) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Hold back the longest tail of held_ that begins some stop string.
  size_t keep = 0;
  for (const auto& s : stops_)
    for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), held_.size()); n > keep; --n)
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStrings::flush() {
  std::string out = stopped_ ? "" : held_;
  held_.clear();
  return out;
}

}  // namespace tern
