#include "tern/convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tern/arch.h"
#include "tern/error.h"

namespace tern {

std::vector<float> dequantize_tensor(const TensorInfo& t) {
  const size_t k = t.ne.empty() ? 0 : t.ne[0], rows = t.n_rows();
  std::vector<float> out(k * rows);
  dequantize_rows(t.type, t.data, k, rows, 0, rows, out.data());
  return out;
}

namespace {

size_t layer_heads(const ModelFile& f, const std::string& name) {
  const std::string arch = f.get_string("general.architecture");
  const int64_t n_head = f.get_int(arch + ".attention.head_count", 0);
  if (const auto id = parse_tensor_name(name); id && id->role == TensorRole::AttnK)
    return size_t(f.get_int(arch + ".attention.head_count_kv", n_head));
  return size_t(n_head);
}

// Makes `w` ternary times one scale in place; returns {scale, exact}. `recorded` is the exact scale the
// exporter saved for this tensor (0 if none); it replaces the magnitude when that is its F16 rounding.
std::pair<float, bool> ternarize(float* w, size_t n, float recorded) {
  float amax = 0;
  for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(w[i]));
  if (amax == 0) return {1.0f, true};
  bool exact = true;
  for (size_t i = 0; i < n && exact; ++i) exact = w[i] == 0 || std::fabs(w[i]) == amax;
  if (exact && recorded > 0 && fp16_to_fp32(fp32_to_fp16(recorded)) == amax) {
    for (size_t i = 0; i < n; ++i) w[i] = w[i] == 0 ? 0.0f : std::copysign(recorded, w[i]);
    return {recorded, true};
  }
  if (exact) return {amax, true};
  const float g = ternary_absmean_scale(w, n);
  for (size_t i = 0; i < n; ++i) w[i] = std::clamp(std::nearbyint(w[i] / g), -1.0f, 1.0f) * g;
  return {g, false};
}

}  // namespace

void permute_qk_row_bytes(uint8_t* rows, size_t row_bytes, size_t n_head, size_t head_dim, RopeStyle from,
                          RopeStyle to) {
  if (from == to) return;
  std::vector<uint8_t> head(head_dim * row_bytes);
  const size_t half = head_dim / 2;
  for (size_t h = 0; h < n_head; ++h) {
    uint8_t* base = rows + h * head_dim * row_bytes;
    std::memcpy(head.data(), base, head.size());
    for (size_t i = 0; i < half; ++i)
      for (size_t j = 0; j < 2; ++j) {
        const size_t interleaved = 2 * i + j, rotate_half = j * half + i;
        const size_t dst = to == RopeStyle::Interleaved ? interleaved : rotate_half;
        const size_t src = to == RopeStyle::Interleaved ? rotate_half : interleaved;
        std::memcpy(base + dst * row_bytes, head.data() + src * row_bytes, row_bytes);
      }
  }
}

void permute_qk_rows(float* rows, size_t k, size_t n_head, size_t head_dim, RopeStyle from, RopeStyle to) {
  permute_qk_row_bytes(reinterpret_cast<uint8_t*>(rows), k * sizeof(float), n_head, head_dim, from, to);
}

std::pair<std::vector<int8_t>, float> ternary_codes(const ModelFile& f, const TensorInfo& t,
                                                    const std::string& hint) {
  std::vector<float> w = dequantize_tensor(t);
  float scale = 0;
  if (dtype_tensor_scaled(t.type))
    scale = tensor_scale(t.type, t.data, t.ne[0], t.n_rows());
  else if (const auto* m = f.get(kTernaryScaleKeyPrefix + t.name))
    scale = float(m->as_float());
  else
    for (float x : w) scale = std::max(scale, std::fabs(x));
  std::vector<int8_t> codes(w.size());
  // The values may hold the scale rounded (F16 storage, TQ block scales): a relative 1e-3 covers that.
  const float tolerance = scale * 1e-3f;
  for (size_t i = 0; i < w.size(); ++i) {
    const float c = scale > 0 ? std::nearbyint(w[i] / scale) : 0.0f;
    if (!(std::fabs(c) <= 1 && std::fabs(w[i] - c * scale) <= tolerance))
      throw Error(f.path + ": tensor " + t.name + " is not ternary with one scale (value " +
                  std::to_string(w[i]) + " at " + std::to_string(i) + ", scale " + std::to_string(scale) +
                  ")" + (hint.empty() ? "" : "; " + hint));
    codes[i] = int8_t(c);
  }
  return {std::move(codes), scale};
}

ModelFile to_clean_f16(const ModelFile& src, const ProgressFn& progress) {
  ModelFile out;
  out.path = src.path;
  out.format = src.format;
  out.meta = src.meta;
  out.storage = src.storage;
  // Write the architecture whose graph the peers run for this model, with its q/k row order.
  const ArchDescriptor* arch = find_arch(src.get_string("general.architecture"));
  if (!arch)
    throw Error(src.path + ": unsupported architecture '" + src.get_string("general.architecture") +
                "' (supported: " + supported_arch_names() + ")");
  const RopeStyle from = file_rope_style(src, *arch);
  const ArchDescriptor& target = arch_for_graph(arch->bitlinear, file_ffn_activation(src, *arch));
  rename_arch(out, target);
  out.meta.erase("tern.ffn_activation");
  // Redundant with the architecture's own convention, but tells this file from those tern wrote before.
  out.meta["tern.rope_layout"] = MetaValue::str(rope_style_name(target.gguf_rope));
  out.meta["general.file_type"] = MetaValue::u32(uint32_t(llama_file_type(DType::F16)));
  size_t done = 0;
  for (const auto& t : src.tensors) {
    TensorInfo o = t;
    // BitNet's embeddings stay F32, as bitnet.cpp's converter keeps them: its trained models are sensitive
    // enough that F16 embeddings flip greedy tokens.
    const bool to_f32 =
        is_norm_tensor(t.name) || t.ne.size() < 2 ||
        (target.bitlinear && t.name == tensor_name({TensorRole::TokenEmbd}) && t.type == DType::F32);
    const DType want = to_f32 ? DType::F32 : DType::F16;
    const auto id = parse_tensor_name(t.name);
    const bool qk =
        from != target.gguf_rope && id && (id->role == TensorRole::AttnQ || id->role == TensorRole::AttnK);
    if (dtype_tensor_scaled(t.type) &&
        want == DType::F16)  // F16 rounds the scale; keep it exact for quantize
      out.meta[kTernaryScaleKeyPrefix + t.name] =
          MetaValue::f32(tensor_scale(t.type, t.data, t.ne[0], t.n_rows()));
    if (t.type != want || qk) {
      std::vector<float> v = dequantize_tensor(t);
      if (qk) {
        const size_t heads = layer_heads(src, t.name);
        if (heads == 0 || t.n_rows() % heads != 0 || (t.n_rows() / heads) % 2 != 0)
          throw Error(src.path + ": cannot permute " + t.name + " (" + t.shape_string() + ") for " +
                      std::to_string(heads) + " heads");
        permute_qk_rows(v.data(), t.ne[0], heads, t.n_rows() / heads, from, target.gguf_rope);
      }
      for (float x : v)
        if (!std::isfinite(x)) throw Error(src.path + ": tensor " + t.name + " contains NaN or Inf");
      o.type = want;
      o.nbytes = dtype_tensor_bytes(want, t.ne[0], t.n_rows());
      uint8_t* dst = out.alloc(o.nbytes);
      quantize_matrix(want, v.data(), dst, t.ne[0], t.n_rows());
      o.data = dst;
    }
    out.tensors.push_back(std::move(o));
    if (progress) progress(++done, src.tensors.size(), t.name);
  }
  return out;
}

ModelFile quantize_ternary(const ModelFile& src, DType type,
                           const std::function<bool(const std::string&)>& exclude, QuantizeReport* report,
                           const ProgressFn& progress) {
  const auto* traits = dtype_traits(type);
  if (!traits || !traits->ternary)
    throw Error(std::string("quantize: ") + dtype_name(type) + " is not a ternary type");
  ModelFile out;
  out.path = src.path;
  out.format = src.format;
  out.meta = src.meta;
  out.storage = src.storage;
  out.meta["general.file_type"] = MetaValue::u32(uint32_t(llama_file_type(type)));
  out.meta["general.quantization_version"] = MetaValue::u32(2);
  QuantizeReport local;
  QuantizeReport& rep = report ? *report : local;
  size_t done = 0;
  for (const auto& t : src.tensors) {
    const bool quantize = is_projection_tensor(t.name) && t.ne.size() == 2 && !(exclude && exclude(t.name));
    TensorInfo o = t;
    if (!quantize) {
      rep.kept.push_back(t.name);
    } else {
      const size_t k = t.ne[0], rows = t.n_rows();
      if (!dtype_row_ok(type, k))
        throw Error(src.path + ": tensor " + t.name + " (" + t.shape_string() + ") cannot be stored as " +
                    dtype_name(type) + ": its row length " + std::to_string(k) + " is not a multiple of " +
                    std::to_string(traits->block_size));
      std::vector<float> v = dequantize_tensor(t);
      for (float x : v)
        if (!std::isfinite(x)) throw Error(src.path + ": tensor " + t.name + " contains NaN or Inf");
      const std::string scale_key = kTernaryScaleKeyPrefix + t.name;
      const double recorded = src.get_float(scale_key, 0.0);
      if (src.get(scale_key) && !(std::isfinite(recorded) && recorded > 0 && recorded < 1e30))
        throw Error(src.path + ": metadata " + scale_key + " = " + src.get(scale_key)->to_string() +
                    " is not a finite positive scale (a corrupted export)");
      const auto [scale, exact] = ternarize(v.data(), v.size(), float(recorded));
      out.meta.erase(scale_key);
      const size_t zeros = size_t(std::count(v.begin(), v.end(), 0.0f));
      o.type = type;
      o.nbytes = dtype_tensor_bytes(type, k, rows);
      uint8_t* dst = out.alloc(o.nbytes);
      quantize_matrix(type, v.data(), dst, k, rows, scale);
      o.data = dst;
      rep.quantized.push_back({t.name, exact, scale, v.empty() ? 0.0 : double(zeros) / double(v.size())});
    }
    out.tensors.push_back(std::move(o));
    if (progress) progress(++done, src.tensors.size(), t.name);
  }
  return out;
}

int llama_file_type(DType t) {
  switch (t) {
    case DType::F32:
      return 0;
    case DType::F16:
      return 1;
    case DType::Q4_0:
      return 2;
    case DType::Q4_1:
      return 3;
    case DType::Q8_0:
      return 7;
    case DType::BF16:
      return 32;
    case DType::TQ1_0:
      return 36;
    case DType::TQ2_0:
      return 37;
    case DType::I2_S:
      return 40;  // bitnet.cpp's LLAMA_FTYPE_MOSTLY_I2_S
    case DType::TL2:
      return 1002;  // no llama.cpp file type; tern's own, like the tensor type id
    case DType::TL1:
      return 1001;
    case DType::Q4_ZP:
      return 1003;
  }
  return -1;
}

}  // namespace tern
