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
namespace {

// A KV head's cache rows as a kernel reads them: in place when the table has kernels for the cache's type,
// otherwise dequantized (exactly) into per-head F32 scratch, each key once per range of work items.
class HeadRows {
 public:
  HeadRows(const void* cache, DType type, size_t n_head_kv, size_t hd, bool in_place)
      : cache_(static_cast<const uint8_t*>(cache)),
        type_(type),
        hd_(hd),
        row_bytes_(dtype_row_bytes(type, n_head_kv * hd)),
        in_place_(in_place),
        scratch_(in_place ? 0 : n_head_kv),
        done_(in_place ? 0 : n_head_kv, 0) {}

  size_t row_bytes() const { return in_place_ ? row_bytes_ : hd_ * sizeof(float); }

  const uint8_t* head(size_t kvh, size_t n_keys) {
    const uint8_t* first = cache_ + dtype_row_bytes(type_, kvh * hd_);
    if (in_place_) return first;
    std::vector<float>& rows = scratch_[kvh];
    if (rows.size() < n_keys * hd_) rows.resize(n_keys * hd_);
    for (size_t& j = done_[kvh]; j < n_keys; ++j)
      dequantize_row(type_, first + j * row_bytes_, &rows[j * hd_], hd_);
    return reinterpret_cast<const uint8_t*>(rows.data());
  }

 private:
  const uint8_t* cache_;
  DType type_;
  size_t hd_, row_bytes_;
  bool in_place_;
  std::vector<std::vector<float>> scratch_;
  std::vector<size_t> done_;
};

}  // namespace

void attention(const AttentionKernels& k, const AttentionArgs& a, const Parallel& par) {
  const size_t hd = a.head_dim, group = a.n_head / a.n_head_kv, f32 = dtype_index(DType::F32);
  const HeadScoresFn own_scores = k.head_scores[dtype_index(a.k_type)];
  const WeightedValuesFn own_values = k.weighted_values[dtype_index(a.v_type)];
  const HeadScoresFn scores = own_scores ? own_scores : k.head_scores[f32];
  const WeightedValuesFn values = own_values ? own_values : k.weighted_values[f32];
  if (!scores || !values || hd % k.head_dim_multiple != 0) return ref::attention(a, par);
  // Consecutive items (t, h) of a range that share a KV head have their scores computed together.
  par.for_range(a.n_tokens * a.n_head, [&](size_t i0, size_t i1) {
    const size_t stride = a.pos0 + a.n_tokens;
    std::vector<float> scratch_scores(kMaxSharedHeads * stride);
    HeadRows keys(a.k_cache, a.k_type, a.n_head_kv, hd, own_scores != nullptr);
    HeadRows vals(a.v_cache, a.v_type, a.n_head_kv, hd, own_values != nullptr);
    for (size_t i = i0; i < i1;) {
      const size_t t = i / a.n_head, h0 = i % a.n_head, kvh = h0 / group;
      const size_t nh = std::min({i1 - i, (kvh + 1) * group - h0, kMaxSharedHeads});
      const size_t n_keys = a.pos0 + t + 1;
      float* sc = scratch_scores.data();
      scores(nh, a.q + (t * a.n_head + h0) * hd, hd, keys.head(kvh, n_keys), keys.row_bytes(), n_keys,
             a.scale, sc, stride);
      const uint8_t* v = vals.head(kvh, n_keys);
      for (size_t hh = 0; hh < nh; ++hh) {
        float* score = sc + hh * stride;
        const float mx = *std::max_element(score, score + n_keys);
        float sum = 0;
        for (size_t j = 0; j < n_keys; ++j) sum += score[j] = std::exp(score[j] - mx);
        for (size_t j = 0; j < n_keys; ++j) score[j] /= sum;
        values(score, v, vals.row_bytes(), n_keys, hd, a.out + (t * a.n_head + h0 + hh) * hd);
      }
      i += nh;
    }
  });
}

}  // namespace tern::cpu
