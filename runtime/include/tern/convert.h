#pragma once
// Model-to-model conversions used by `tern export` and `tern quantize`: Hugging Face-layout models to a clean
// F16 GGUF layout, and clean models to ternary types. Pure transformations of ModelFile; writing is a format
// plugin's job.
#include <functional>
#include <string>
#include <vector>

#include "tern/arch.h"
#include "tern/model_file.h"
#include "tern/plugin/backend_api.h"

namespace tern {

// Called after each tensor with (done, total, tensor name); may be empty.
using ProgressFn = std::function<void(size_t, size_t, const std::string&)>;

// Reorders the rows of a [n_head * head_dim, k] q/k weight between Hugging Face's rotate-half RoPE order
// (dimension i pairs with i + head_dim/2) and GGUF llama's interleaved order (pairs 2i, 2i+1), as llama.cpp's
// converter does for llama. `rows` holds n_head * head_dim rows of `k` floats.
void permute_qk_rows(float* rows, size_t k, size_t n_head, size_t head_dim, RopeStyle from, RopeStyle to);
// The same on rows of `row_bytes` bytes of any row-blocked type (F16, BF16, Q8_0, ...): rows move whole.
void permute_qk_row_bytes(uint8_t* rows, size_t row_bytes, size_t n_head, size_t head_dim, RopeStyle from,
                          RopeStyle to);

// Metadata key prefix (followed by the tensor name) under which to_clean_f16 records the exact F32 scale of a
// ternary tensor whose F16 values carry it rounded; quantize_ternary restores it, so ternary -> F16 ->
// ternary is lossless. llama.cpp ignores unknown keys.
inline constexpr const char* kTernaryScaleKeyPrefix = "tern.ternary_scale.";

// Linear and embedding weights become F16 (ternary values times their scale), norms F32. The file gets the
// architecture whose graph llama.cpp and bitnet.cpp run for the model (arch.h) and that architecture's q/k
// row order. Zero-copy where the source already has the target type. general.file_type is llama.cpp's
// MOSTLY_F16.
ModelFile to_clean_f16(const ModelFile& src, const ProgressFn& progress = {});

// Every element of a tensor of any type as f32, row-major.
std::vector<float> dequantize_tensor(const TensorInfo& t);

// A BitNet projection as codes in {-1, 0, 1} (row-major, ne[0] per row) and its one scale: the trailer scale
// of I2_S / TL*, the exact scale to_clean_f16 recorded, or the largest magnitude. Throws tern::Error naming
// the tensor (and adding `hint`) when the values are not ternary times one scale.
std::pair<std::vector<int8_t>, float> ternary_codes(const ModelFile& f, const TensorInfo& t,
                                                    const std::string& hint = "");

struct TensorQuantReport {
  std::string name;
  bool exact = false;    // the source was already ternary times one scale: codes and scale kept exactly
  float scale = 0;       // the tensor's scale
  double frac_zero = 0;  // share of zero codes (about 1/3 for healthy BitNet weights)
};
struct QuantizeReport {
  std::vector<TensorQuantReport> quantized;
  std::vector<std::string> kept;  // tensors left in their source type (norms, embeddings, output, excluded)
};

// Quantizes the projection weights to `type` (a ternary dtype), leaving every other tensor untouched. Each
// weight is first made ternary with its own scale: kept exactly if it already is ternary times a single
// scale, otherwise BitNet's absmean rule round(w / mean|w|).clip(-1, 1) * mean|w|. Tensors for which
// `exclude` returns true are kept. Throws tern::Error naming the tensor for shapes `type` cannot hold.
ModelFile quantize_ternary(const ModelFile& src, DType type,
                           const std::function<bool(const std::string&)>& exclude,
                           QuantizeReport* report = nullptr, const ProgressFn& progress = {});

// llama.cpp's general.file_type for a model whose projections have type `t` (-1 if it has none).
int llama_file_type(DType t);

}  // namespace tern
