// The attention driver, ISA-free: which query heads share a KV head and are scored together, the softmax,
// and the work split over the pool. The ISA's kernels do the two sums the reference does (each score over the
// head dimension, each output over the keys), each sum in one vector lane, in the reference's order: outputs
// are bit-identical to ref::attention.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_kernels.h"
#include "reference_kernels.h"

namespace tern::cpu {

void attention(const AttentionKernels& k, const AttentionArgs& a, const Parallel& par) {
  const size_t hd = a.head_dim, kv_dim = a.n_head_kv * hd, group = a.n_head / a.n_head_kv;
  if (hd % k.head_dim_multiple != 0) return ref::attention(a, par);
  // Consecutive items (t, h) of a range that share a KV head have their scores computed together.
  par.for_range(a.n_tokens * a.n_head, [&](size_t i0, size_t i1) {
    const size_t stride = a.pos0 + a.n_tokens;
    std::vector<float> scores(kMaxSharedHeads * stride);
    for (size_t i = i0; i < i1;) {
      const size_t t = i / a.n_head, h0 = i % a.n_head, kvh = h0 / group;
      const size_t nh = std::min({i1 - i, (kvh + 1) * group - h0, kMaxSharedHeads});
      const size_t n_keys = a.pos0 + t + 1;
      float* sc = scores.data();
      k.head_scores(nh, a.q + (t * a.n_head + h0) * hd, hd, a.k_cache + kvh * hd, kv_dim, n_keys, a.scale, sc,
                    stride);
      for (size_t hh = 0; hh < nh; ++hh) {
        float* score = sc + hh * stride;
        const float mx = *std::max_element(score, score + n_keys);
        float sum = 0;
        for (size_t j = 0; j < n_keys; ++j) sum += score[j] = std::exp(score[j] - mx);
        for (size_t j = 0; j < n_keys; ++j) score[j] /= sum;
        k.weighted_values(score, a.v_cache + kvh * hd, kv_dim, n_keys, hd,
                          a.out + (t * a.n_head + h0 + hh) * hd);
      }
      i += nh;
    }
  });
}

}  // namespace tern::cpu
