#include "reference_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tern::ref {

float quantize_activations_i8(const float* x, int8_t* q, size_t k) {
  float amax = 0;
  for (size_t i = 0; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float scale = 127.0f / std::max(amax, 1e-5f);
  for (size_t i = 0; i < k; ++i) q[i] = int8_t(std::clamp(std::round(x[i] * scale), -128.0f, 127.0f));
  return scale;
}

size_t decode_ternary_row(const WeightView& w, size_t row, int8_t* values, float* group_scales) {
  std::vector<float> tmp(w.k);
  if (dtype_tiled(w.type)) {
    (w.type == DType::TL1 ? tl1_unpack_row : tl2_unpack_row)(w.data, w.k, row, values);
    group_scales[0] = w.scale;
    return w.k;
  }
  const uint8_t* p = w.data + dtype_row_offset(w.type, w.k, row);
  if (w.type == DType::I2_S) {
    dequantize_row(DType::I2_S, p, tmp.data(), w.k, 1.0f);
    for (size_t i = 0; i < w.k; ++i) values[i] = int8_t(tmp[i]);
    group_scales[0] = w.scale;
    return w.k;
  }
  // TQ1_0 / TQ2_0: each 256-block stores its scale as f16 at the end of the block.
  const size_t block_bytes = dtype_traits(w.type)->block_bytes;
  for (size_t b = 0; b < w.k / 256; ++b) {
    const uint8_t* blk = p + b * block_bytes;
    uint16_t h;
    std::memcpy(&h, blk + block_bytes - 2, 2);
    const float d = fp16_to_fp32(h);
    group_scales[b] = d;
    // Dequantize with a unit scale to read the trits themselves.
    std::vector<uint8_t> unit(blk, blk + block_bytes);
    const uint16_t one = fp32_to_fp16(1.0f);
    std::memcpy(unit.data() + block_bytes - 2, &one, 2);
    dequantize_row(w.type, unit.data(), tmp.data() + b * 256, 256);
  }
  for (size_t i = 0; i < w.k; ++i) values[i] = int8_t(tmp[i]);
  return 256;
}

int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}

const float* prepare_activations(const float* x, size_t T, size_t K, bool ternary, bool quantize_act,
                                 MatmulActivations& a, QuantizeActivationsFn quantize) {
  if (!ternary && !quantize_act) return x;
  a.q.resize(T * K);
  a.scale.resize(T);
  for (size_t t = 0; t < T; ++t) a.scale[t] = quantize(x + t * K, a.q.data() + t * K, K);
  if (ternary) return x;
  a.fake.resize(T * K);  // BitLinear on float weights: fake-quantize the activations
  for (size_t i = 0; i < T * K; ++i) a.fake[i] = float(a.q[i]) / a.scale[i / K];
  return a.fake.data();
}

void matmul(const WeightView& w, const float* x, float* y, size_t T, bool quantize_act, const Parallel& par) {
  const size_t K = w.k, N = w.n;
  const bool ternary = dtype_traits(w.type)->ternary;
  MatmulActivations act;
  x = prepare_activations(x, T, K, ternary, quantize_act, act);
  const std::vector<int8_t>& xq = act.q;
  const std::vector<float>& xs = act.scale;
  par.for_range(N, [&](size_t n0, size_t n1) {
    if (ternary) {
      std::vector<int8_t> vals(K);
      std::vector<float> gscale(K / 128 + 1);
      for (size_t n = n0; n < n1; ++n) {
        const size_t group = decode_ternary_row(w, n, vals.data(), gscale.data());
        for (size_t t = 0; t < T; ++t) {
          float acc = 0;
          for (size_t g = 0; g < K / group; ++g)
            acc += gscale[g] * float(dot_i8(vals.data() + g * group, xq.data() + t * K + g * group, group));
          y[t * N + n] = acc / xs[t];
        }
      }
    } else {
      std::vector<float> row(K);
      for (size_t n = n0; n < n1; ++n) {
        dequantize_rows(w.type, w.data, K, N, n, 1, row.data());
        for (size_t t = 0; t < T; ++t) {
          float acc = 0;
          const float* xt = x + t * K;
          for (size_t i = 0; i < K; ++i) acc += row[i] * xt[i];
          y[t * N + n] = acc;
        }
      }
    }
  });
}

void get_rows(const WeightView& w, const int32_t* ids, size_t n_ids, float* out) {
  for (size_t i = 0; i < n_ids; ++i)
    dequantize_rows(w.type, w.data, w.k, w.n, size_t(ids[i]), 1, out + i * w.k);
}

void rms_norm(const float* x, const float* weight, float* y, size_t T, size_t dim, float eps) {
  for (size_t t = 0; t < T; ++t) {
    const float* xt = x + t * dim;
    float* yt = y + t * dim;
    float ss = 0;
    for (size_t i = 0; i < dim; ++i) ss += xt[i] * xt[i];
    const float r = 1.0f / std::sqrt(ss / float(dim) + eps);
    for (size_t i = 0; i < dim; ++i) yt[i] = xt[i] * r * weight[i];
  }
}

void rope(float* x, size_t T, size_t n_heads, size_t hd, const int32_t* positions, float theta,
          RopeStyle style) {
  const size_t half = hd / 2;
  std::vector<float> cos_sin(2 * half);
  for (size_t t = 0; t < T; ++t) {
    // The angles depend on position and pair only: computed once, applied to every head.
    for (size_t i = 0; i < half; ++i) {
      const float freq = std::pow(theta, -float(2 * i) / float(hd));
      const float ang = float(positions[t]) * freq;
      cos_sin[2 * i] = std::cos(ang);
      cos_sin[2 * i + 1] = std::sin(ang);
    }
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * hd;
      for (size_t i = 0; i < half; ++i) {
        const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
        const size_t a = style == RopeStyle::Interleaved ? 2 * i : i;
        const size_t b = style == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}

void attention(const AttentionArgs& a, const Parallel& par) {
  const size_t hd = a.head_dim, kv_dim = a.n_head_kv * hd, group = a.n_head / a.n_head_kv;
  const size_t k_row = dtype_row_bytes(a.k_type, kv_dim), v_row = dtype_row_bytes(a.v_type, kv_dim);
  const auto* kc = static_cast<const uint8_t*>(a.k_cache);
  const auto* vc = static_cast<const uint8_t*>(a.v_cache);
  par.for_range(a.n_tokens * a.n_head, [&](size_t i0, size_t i1) {
    std::vector<float> score(a.pos0 + a.n_tokens), k(hd), v(hd);
    for (size_t i = i0; i < i1; ++i) {
      const size_t t = i / a.n_head, h = i % a.n_head, kvh = h / group;
      const float* q = a.q + (t * a.n_head + h) * hd;
      const size_t n_keys = a.pos0 + t + 1;
      const uint8_t* k_head = kc + dtype_row_bytes(a.k_type, kvh * hd);
      const uint8_t* v_head = vc + dtype_row_bytes(a.v_type, kvh * hd);
      float mx = -INFINITY;
      for (size_t j = 0; j < n_keys; ++j) {
        dequantize_row(a.k_type, k_head + j * k_row, k.data(), hd);
        float s = 0;
        for (size_t d = 0; d < hd; ++d) s += q[d] * k[d];
        score[j] = s * a.scale;
        mx = std::max(mx, score[j]);
      }
      float sum = 0;
      for (size_t j = 0; j < n_keys; ++j) sum += score[j] = std::exp(score[j] - mx);
      float* out = a.out + (t * a.n_head + h) * hd;
      std::fill(out, out + hd, 0.0f);
      for (size_t j = 0; j < n_keys; ++j) {
        const float p = score[j] / sum;
        dequantize_row(a.v_type, v_head + j * v_row, v.data(), hd);
        for (size_t d = 0; d < hd; ++d) out[d] += p * v[d];
      }
    }
  });
}

void gated_activation(const float* gate, const float* up, float* out, size_t n, Activation act) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float a = act == Activation::Silu ? g / (1.0f + std::exp(-g)) : (g > 0 ? g * g : 0.0f);
    out[i] = a * up[i];
  }
}

void add(float* x, const float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace tern::ref
