#pragma once
// Portable scalar kernels: the oracle every other backend is tested against. Plain loops, no intrinsics.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tern/plugin/backend_api.h"

namespace tern::ref {

// BitNet per-token activation quantization: scale = 127 / max|x| (max clamped to >= 1e-5),
// q = clamp(round(x * scale), -128, 127). Returns the scale.
float quantize_activations_i8(const float* x, int8_t* q, size_t k);

// Decodes one ternary weight row into values in {-1, 0, 1} and one float scale per group of `group` values
// (the whole row for I2_S and TL2, 256 for TQ1_0 / TQ2_0). Returns the group size.
size_t decode_ternary_row(const WeightView& w, size_t row, int8_t* values, float* group_scales);

// Activations as a matmul consumes them. With int8 (ternary weights, or quantize_activations): q holds
// [T, K] int8 values and scale one scale per token. For float weights with quantize_activations the returned
// pointer is the fake-quantized floats (q / scale); otherwise it is x itself.
struct MatmulActivations {
  std::vector<int8_t> q;
  std::vector<float> scale, fake;
};
// `quantize` is quantize_activations_i8 or a backend's exact equivalent of it.
using QuantizeActivationsFn = float (*)(const float* x, int8_t* q, size_t k);
const float* prepare_activations(const float* x, size_t T, size_t K, bool ternary, bool quantize_activations,
                                 MatmulActivations& a,
                                 QuantizeActivationsFn quantize = quantize_activations_i8);

int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n);

void matmul(const WeightView& w, const float* x, float* y, size_t n_tokens, bool quantize_activations,
            const Parallel& par);
void get_rows(const WeightView& w, const int32_t* ids, size_t n_ids, float* out);
void rms_norm(const float* x, const float* weight, float* y, size_t n_tokens, size_t dim, float eps);
void rope(float* x, size_t n_tokens, size_t n_heads, size_t head_dim, const int32_t* positions, float theta,
          RopeStyle style);
void attention(const AttentionArgs& a, const Parallel& par);
void gated_activation(const float* gate, const float* up, float* out, size_t n, Activation act);
void add(float* x, const float* y, size_t n);

}  // namespace tern::ref
