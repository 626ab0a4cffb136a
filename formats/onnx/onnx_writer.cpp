// A ModelFile as an ONNX decoder with a KV cache, in the input / output names ONNX Runtime GenAI uses
// (input_ids, attention_mask, past_key_values.N.key -> logits, present.N.key). BitLinear projections keep
// BitNet's arithmetic: per-token absmax int8 activations times int8 ternary codes (an exact float MatMul),
// scaled by the weight scale over the activation scale, as tern's reference computes them.
#include "onnx_writer.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "matmul_nbits.h"
#include "onnx_builder.h"
#include "tern/arch.h"
#include "tern/convert.h"
#include "tern/error.h"
#include "tern/mapped_file.h"
#include "tern/tokenizer.h"
#include "tern/version.h"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern::onnx {
namespace {

// Opset 21: ONNX 1.16 (2024), run by every ONNX Runtime release since 1.18.
constexpr int64_t kOpset = 21;
// Columns up to which a float dot of int8 activations and ternary codes is exact: 128 K < 2^24.
constexpr int64_t kMaxExactK = 131072;

// MatMulNBits' inputs for rows of a 32-element block type (element 2i of a block in the low nibble of byte i
// for 4 bits; 8-bit codes as uint8 with the default zero point 128), and Q4_1's mins ([block][row]).
struct NBitsBlocks {
  std::vector<uint8_t> codes, zero_points;
  std::vector<float> scales, mins;
};

NBitsBlocks nbits_blocks(DType type, const std::vector<uint8_t>& rows, size_t K, size_t N, bool with_data) {
  NBitsBlocks b;
  if (!with_data) return b;
  const size_t nb = K / 32, bb = dtype_traits(type)->block_bytes, zp_row = (nb + 1) / 2;
  const bool eight = type == DType::Q8_0;
  b.codes.resize(N * nb * (eight ? 32 : 16));
  b.scales.resize(N * nb);
  if (type == DType::Q4_1 || type == DType::Q4_ZP) b.zero_points.assign(N * zp_row, 0);
  if (type == DType::Q4_1) b.mins.resize(nb * N);
  auto f16 = [](const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_fp32(h);
  };
  for (size_t r = 0; r < N; ++r)
    for (size_t k = 0; k < nb; ++k) {
      const uint8_t* blk = rows.data() + r * nb * bb + k * bb;
      const uint8_t* qs = blk + (type == DType::Q4_ZP ? 5 : type == DType::Q4_1 ? 4 : 2);
      uint8_t* out = b.codes.data() + (r * nb + k) * (eight ? 32 : 16);
      if (type == DType::Q4_ZP) {
        std::memcpy(&b.scales[r * nb + k], blk, 4);
        b.zero_points[r * zp_row + k / 2] |= uint8_t(blk[4] << (4 * (k % 2)));
      } else {
        b.scales[r * nb + k] = f16(blk);
      }
      if (type == DType::Q4_1) b.mins[k * N + r] = f16(blk + 2);
      if (eight) {
        for (size_t j = 0; j < 32; ++j) out[j] = uint8_t(int(int8_t(qs[j])) + 128);
        continue;
      }
      nbits_from_q4_nibbles(qs, out);
    }
  return b;
}

struct Shape {
  int64_t D, F, H, KVH, hd, V, L, ctx;
  float eps, theta;
  bool bitlinear;
  Activation act;
};

class DecoderWriter {
 public:
  DecoderWriter(const ModelFile& f, const ArchDescriptor& arch, bool with_weights)
      : f_(f), arch_(arch), g_(with_weights) {
    const std::string a = std::string(arch.name) + ".";
    auto num = [&](const std::string& k) {
      const int64_t v = f.get_int(a + k, 0);
      if (v <= 0) throw Error(f.path + ": missing " + a + k);
      return v;
    };
    s_.D = num("embedding_length");
    s_.F = num("feed_forward_length");
    s_.H = num("attention.head_count");
    s_.KVH = f.get_int(a + "attention.head_count_kv", s_.H);
    s_.hd = f.get_int(a + "attention.key_length", s_.D / s_.H);
    s_.V = file_vocab_size(f, arch);
    if (s_.V <= 0) throw Error(f.path + ": missing " + a + "vocab_size");
    s_.L = num("block_count");
    s_.ctx = f.get_int(a + "context_length", 2048);
    s_.eps = float(f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-5));
    s_.theta = float(f.get_float(a + "rope.freq_base", 10000.0));
    s_.bitlinear = arch.bitlinear;
    s_.act = file_ffn_activation(f, arch);
    if (s_.KVH <= 0 || s_.H % s_.KVH || s_.hd % 2 || s_.ctx > (int64_t(1) << 20))
      throw Error(f.path + ": head counts / head size / context the ONNX graph cannot express");
  }

  void build() {
    constants();
    std::string x =
        g_.node("Gather", {weight_f32(TensorRole::TokenEmbd, -1, false), "input_ids"}, {Attr::i("axis", 0)});
    for (int64_t l = 0; l < s_.L; ++l) x = layer(x, l);
    const std::string xn = rms_norm(x, TensorRole::OutputNorm, -1);
    const bool tied = !f_.find(tensor_name({TensorRole::Output}));
    const std::string head = weight_f32(tied ? TensorRole::TokenEmbd : TensorRole::Output, -1, false);
    const std::string head_t = g_.node("Transpose", {head}, {Attr::ints("perm", {1, 0})});
    g_.node("MatMul", {xn, head_t}, {}, "logits");

    g_.input("input_ids", ElemType::Int64, {"batch_size", "sequence_length"});
    g_.input("attention_mask", ElemType::Int64, {"batch_size", "total_sequence_length"});
    for (int64_t l = 0; l < s_.L; ++l)
      for (const char* kv : {"key", "value"})
        g_.input("past_key_values." + std::to_string(l) + "." + kv, ElemType::Float,
                 {"batch_size", s_.KVH, "past_sequence_length", s_.hd});
    g_.output("logits", ElemType::Float, {"batch_size", "sequence_length", s_.V});
    for (int64_t l = 0; l < s_.L; ++l)
      for (const char* kv : {"key", "value"})
        g_.output("present." + std::to_string(l) + "." + kv, ElemType::Float,
                  {"batch_size", s_.KVH, "total_sequence_length", s_.hd});
  }

  const GraphBuilder& graph() const { return g_; }
  void write(const fs::path& dir, const std::string& version) const {
    g_.write(dir, "model.onnx", "tern", kOpset, version);
  }
  const Shape& shape() const { return s_; }

 private:
  // Positions past_len .. past_len + S, the RoPE tables gathered at them, and the attention bias (causal and
  // the attention mask's padding), shared by every layer.
  void constants() {
    one_ = g_.scalar_i64("/const/one", 1);
    zero_ = g_.scalar_i64("/const/zero", 0);
    const std::string seq = g_.node("Gather", {g_.node("Shape", {"input_ids"}), one_}, {Attr::i("axis", 0)});
    const std::string past =
        g_.node("Gather", {g_.node("Shape", {"past_key_values.0.key"}), g_.scalar_i64("/const/two", 2)},
                {Attr::i("axis", 0)});
    const std::string total = g_.node("Add", {past, seq});
    const std::string pos = g_.node("Range", {past, total, one_});
    // cos / sin of position x frequency, computed as tern's reference computes them.
    const int64_t half = s_.hd / 2;
    std::vector<float> cos_t(size_t(s_.ctx * half)), sin_t(cos_t.size());
    for (int64_t p = 0; p < s_.ctx; ++p)
      for (int64_t i = 0; i < half; ++i) {
        const float freq = std::pow(s_.theta, -float(2 * i) / float(s_.hd));
        const float ang = float(p) * freq;
        cos_t[size_t(p * half + i)] = std::cos(ang);
        sin_t[size_t(p * half + i)] = std::sin(ang);
      }
    cos_ = g_.node("Gather", {g_.f32("/rope/cos_cache", {s_.ctx, half}, cos_t), pos}, {Attr::i("axis", 0)});
    sin_ = g_.node("Gather", {g_.f32("/rope/sin_cache", {s_.ctx, half}, sin_t), pos}, {Attr::i("axis", 0)});
    const std::string keys = g_.node("Range", {zero_, total, one_});
    const std::string causal =
        g_.node("LessOrEqual", {g_.node("Unsqueeze", {keys, g_.i64("/const/axes0", {0})}),
                                g_.node("Unsqueeze", {pos, g_.i64("/const/axes1", {1})})});
    const std::string kept =
        g_.node("Unsqueeze", {g_.node("Cast", {"attention_mask"}, {Attr::i("to", int64_t(ElemType::Bool))}),
                              g_.i64("/const/axes12", {1, 2})});
    // -1e30, not -inf: a row with every key masked (padding) stays finite instead of turning into NaN.
    bias_ = g_.node("Where", {g_.node("And", {causal, kept}), g_.scalar_f32("/const/f0", 0.0f),
                              g_.scalar_f32("/const/masked", -1e30f)});
    axes_last_ = g_.i64("/const/axes_last", {-1});
  }

  std::string layer(const std::string& x_in, int64_t l) {
    using R = TensorRole;
    const std::string xn = rms_norm(x_in, R::AttnNorm, l);
    const std::string q = heads(linear(xn, R::AttnQ, l), s_.H);
    const std::string k = heads(linear(xn, R::AttnK, l), s_.KVH);
    const std::string v = heads(linear(xn, R::AttnV, l), s_.KVH);
    const std::string ln = std::to_string(l);
    const std::string present_k = g_.node("Concat", {"past_key_values." + ln + ".key", rope(k)},
                                          {Attr::i("axis", 2)}, "present." + ln + ".key");
    const std::string present_v = g_.node("Concat", {"past_key_values." + ln + ".value", v},
                                          {Attr::i("axis", 2)}, "present." + ln + ".value");
    std::string att = attention(rope(q), repeat_kv(present_k), repeat_kv(present_v));
    if (s_.bitlinear) att = rms_norm(att, R::AttnSubNorm, l);
    const std::string x = g_.node("Add", {x_in, linear(att, R::AttnOutput, l)});

    const std::string xn2 = rms_norm(x, R::FfnNorm, l);
    const std::string gate = linear(xn2, R::FfnGate, l), up = linear(xn2, R::FfnUp, l);
    std::string a;
    if (s_.act == Activation::Silu) {
      a = g_.node("Mul", {g_.node("Div", {gate, g_.node("Add", {g_.scalar_f32("/const/f1", 1.0f),
                                                                g_.node("Exp", {g_.node("Neg", {gate})})})}),
                          up});
    } else {
      const std::string r = g_.node("Relu", {gate});
      a = g_.node("Mul", {g_.node("Mul", {r, r}), up});
    }
    if (s_.bitlinear) a = rms_norm(a, R::FfnSubNorm, l);
    return g_.node("Add", {x, linear(a, R::FfnDown, l)});
  }

  // x * (1 / sqrt(sum(x^2) / n + eps)) * gain, as tern's reference computes it. The sum is a MatMul with a
  // column of ones: its k loop adds in order (FMA by 1 rounds as an add), where ReduceMean/ReduceSum add in
  // vector lanes, and BitNet's int8 activations are sensitive enough that the order shows in the logits.
  std::string rms_norm(const std::string& x, TensorRole role, int64_t l) {
    const TensorInfo& gain = tensor(role, l);
    const int64_t n = int64_t(gain.ne[0]);
    const std::string ones =
        g_.f32("/const/ones_" + std::to_string(n), {n, 1}, std::vector<float>(size_t(n), 1.0f));
    const std::string ss = g_.node("MatMul", {g_.node("Mul", {x, x}), ones});
    const std::string mean = g_.node("Div", {ss, g_.scalar_f32("/const/n_" + std::to_string(n), float(n))});
    const std::string eps = g_.scalar_f32("/const/eps", s_.eps);
    const std::string r =
        g_.node("Div", {g_.scalar_f32("/const/f1", 1.0f), g_.node("Sqrt", {g_.node("Add", {mean, eps})})});
    return g_.node("Mul", {g_.node("Mul", {x, r}), weight_f32(role, l, false)});
  }

  // [B, S, n * hd] -> [B, n, S, hd]
  std::string heads(const std::string& x, int64_t n) {
    const std::string shaped =
        g_.node("Reshape", {x, g_.i64("/const/heads_" + std::to_string(n), {0, 0, n, s_.hd})});
    return g_.node("Transpose", {shaped}, {Attr::ints("perm", {0, 2, 1, 3})});
  }

  // Rotate-half RoPE: the exported q / k rows are in Hugging Face's order whatever the source file's.
  std::string rope(const std::string& x) {
    const int64_t half = s_.hd / 2;
    const std::string lo =
        g_.node("Slice", {x, g_.i64("/const/s0", {0}), g_.i64("/const/sh", {half}), axes_last_});
    const std::string hi =
        g_.node("Slice", {x, g_.i64("/const/sh", {half}), g_.i64("/const/shd", {s_.hd}), axes_last_});
    const std::string a = g_.node("Sub", {g_.node("Mul", {lo, cos_}), g_.node("Mul", {hi, sin_})});
    const std::string b = g_.node("Add", {g_.node("Mul", {lo, sin_}), g_.node("Mul", {hi, cos_})});
    return g_.node("Concat", {a, b}, {Attr::i("axis", -1)});
  }

  // [B, KVH, T, hd] -> [B, H, T, hd], each kv head serving H / KVH query heads.
  std::string repeat_kv(const std::string& kv) {
    const int64_t rep = s_.H / s_.KVH;
    if (rep == 1) return kv;
    const std::string u = g_.node("Unsqueeze", {kv, g_.i64("/const/axes2", {2})});
    const std::string e = g_.node("Expand", {u, g_.i64("/const/rep", {1, 1, rep, 1, 1})});
    return g_.node("Reshape", {e, g_.i64("/const/rep_shape", {0, s_.H, -1, s_.hd})});
  }

  std::string attention(const std::string& q, const std::string& k, const std::string& v) {
    // ONNX Runtime's MatMul fusions (a Transpose into MatMul, a scale into FusedMatMul) sum in another
    // order, and a BitNet model's int8 activations are sensitive enough to show it. The Reshape after the
    // Transpose and the scale after the bias (dot + 0 or dot - 1e30, then * scale) keep them apart, so ORT
    // computes the scores as tern does.
    const std::string kt = g_.node("Transpose", {k}, {Attr::ints("perm", {0, 1, 3, 2})});
    const std::string scale =
        scale_.empty() ? (scale_ = g_.scalar_f32("/const/att_scale", 1.0f / std::sqrt(float(s_.hd))))
                       : scale_;
    const std::string scores = g_.node("Add", {g_.node("Mul", {g_.node("MatMul", {q, kt}), scale}), bias_});
    const std::string out = g_.node("MatMul", {g_.node("Softmax", {scores}, {Attr::i("axis", -1)}), v});
    const std::string t = g_.node("Transpose", {out}, {Attr::ints("perm", {0, 2, 1, 3})});
    return g_.node("Reshape", {t, g_.i64("/const/merge_heads", {0, 0, -1})});
  }

  std::string linear(const std::string& x, TensorRole role, int64_t l) {
    if (!s_.bitlinear) return typed_linear(x, role, l);
    const TensorInfo& t = tensor(role, l);
    const int64_t K = int64_t(t.ne[0]), N = int64_t(t.n_rows());
    std::vector<int8_t> transposed;  // [K, N], the MatMul's B
    float scale = 0;
    if (g_.with_data()) {
      std::vector<int8_t> codes;
      std::tie(codes, scale) = ternary_codes(f_, t);
      permute_qk(role, codes.data(), size_t(K), size_t(N));
      transposed.resize(codes.size());
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) transposed[size_t(k * N + n)] = codes[size_t(n * K + k)];
    }
    const std::string base = tensor_name(TensorId{role, int(l)}, NameScheme::Onnx);
    const std::string w =
        g_.initializer(base + ".codes", ElemType::Int8, {K, N}, transposed.data(), size_t(K * N));
    const std::string ws =
        g_.initializer(base + ".scale", ElemType::Float, {}, g_.with_data() ? &scale : nullptr, 4);
    // The int8 dot as a float MatMul of integer values: exact (every partial sum is an integer below 2^24,
    // whatever the order or FMA), and in ONNX Runtime several times faster than MatMulInteger. The codes stay
    // int8 in the file; the Cast is folded when the session loads.
    if (K > kMaxExactK)
      throw Error(f_.path + ": " + t.name + " has " + std::to_string(K) +
                  " columns; float dots are exact up to " + std::to_string(kMaxExactK));
    const auto& [xq, xs] = quantized(x);
    const std::string dot =
        g_.node("MatMul", {xq, g_.node("Cast", {w}, {Attr::i("to", int64_t(ElemType::Float))})});
    return g_.node("Div", {g_.node("Mul", {dot, ws}), xs});  // (scale * dot) / xs, the reference's order
  }

  // A llama projection in its own dtype. Block types become MatMulNBits with the same weights: d as the
  // scales, Q4_ZP's z as zero points, Q4_0's implied 8 and Q8_0's codes + 128 as MatMulNBits' defaults;
  // Q4_1's d * q + m as MatMulNBits with zero points 0 plus the activations' block sums times m. F16 / BF16
  // stay 16-bit in the file, cast to float in the graph.
  std::string typed_linear(const std::string& x, TensorRole role, int64_t l) {
    const TensorInfo& t = tensor(role, l);
    const DType type = t.type;
    if (type != DType::Q4_0 && type != DType::Q4_1 && type != DType::Q4_ZP && type != DType::Q8_0 &&
        type != DType::F16 && type != DType::BF16)
      return g_.node("MatMul", {x, weight_f32(role, l, true)});
    const int64_t K = int64_t(t.ne[0]), N = int64_t(t.n_rows());
    const size_t row_bytes = dtype_row_bytes(type, size_t(K));
    std::vector<uint8_t> rows;
    if (g_.with_data()) {
      rows.assign(t.data, t.data + row_bytes * size_t(N));
      permute_qk(role, rows.data(), row_bytes, size_t(N));
    }
    const std::string base = tensor_name(TensorId{role, int(l)}, NameScheme::Onnx);
    if (type == DType::F16 || type == DType::BF16) {
      std::vector<uint8_t> tr(rows.size());
      for (int64_t n = 0; n < N && g_.with_data(); ++n)
        for (int64_t k = 0; k < K; ++k)
          std::memcpy(&tr[size_t(k * N + n) * 2], &rows[size_t(n * K + k) * 2], 2);
      const std::string w = g_.initializer(base, type == DType::F16 ? ElemType::Float16 : ElemType::BFloat16,
                                           {K, N}, g_.with_data() ? tr.data() : nullptr, tr.size());
      return g_.node("MatMul", {x, g_.node("Cast", {w}, {Attr::i("to", int64_t(ElemType::Float))})});
    }
    const NBitsBlocks b = nbits_blocks(type, rows, size_t(K), size_t(N), g_.with_data());
    const int64_t nb = K / 32, bits = type == DType::Q8_0 ? 8 : 4;
    auto data = [&](const auto& v) { return g_.with_data() ? static_cast<const void*>(v.data()) : nullptr; };
    std::vector<std::string> in = {
        x,
        g_.initializer(base + (bits == 8 ? ".q8" : ".q4"), ElemType::Uint8, {N, nb, 4 * bits}, data(b.codes),
                       b.codes.size()),
        g_.initializer(base + ".scales", ElemType::Float, {N * nb}, data(b.scales), b.scales.size() * 4)};
    if (type == DType::Q4_1 || type == DType::Q4_ZP)
      in.push_back(g_.initializer(base + ".zero_points", ElemType::Uint8, {N * ((nb + 1) / 2)},
                                  data(b.zero_points), size_t(N * ((nb + 1) / 2))));
    const std::string y =
        g_.contrib_node("MatMulNBits", in,
                        {Attr::i("K", K), Attr::i("N", N), Attr::i("bits", bits), Attr::i("block_size", 32)});
    if (type != DType::Q4_1) return y;
    const std::string sums = g_.node(
        "ReduceSum",
        {g_.node("Reshape", {x, g_.i64("/const/blocks_" + std::to_string(nb), {0, 0, nb, 32})}), axes_last_},
        {Attr::i("keepdims", 0)});
    const std::string mins =
        g_.initializer(base + ".mins", ElemType::Float, {nb, N}, data(b.mins), b.mins.size() * 4);
    return g_.node("Add", {y, g_.node("MatMul", {sums, mins})});
  }

  // std::round: halves away from zero. ONNX's Round ties to even, so the tie is made explicit: |x| - floor|x|
  // is exact in float, and a BitNet model is sensitive enough that one flipped half shows in the logits.
  std::string round_half_away(const std::string& x) {
    const std::string a = g_.node("Abs", {x});
    const std::string fl = g_.node("Floor", {a});
    const std::string up = g_.node(
        "Cast", {g_.node("GreaterOrEqual", {g_.node("Sub", {a, fl}), g_.scalar_f32("/const/f0.5", 0.5f)})},
        {Attr::i("to", int64_t(ElemType::Float))});
    return g_.node("Mul", {g_.node("Sign", {x}), g_.node("Add", {fl, up})});
  }

  // Per-token absmax int8 activations (tern's quantize_activations_i8), one per input shared by q/k/v and
  // gate/up.
  const std::pair<std::string, std::string>& quantized(const std::string& x) {
    auto it = quantized_.find(x);
    if (it != quantized_.end()) return it->second;
    const std::string amax =
        g_.node("ReduceMax", {g_.node("Abs", {x}), axes_last_}, {Attr::i("keepdims", 1)});
    const std::string xs = g_.node("Div", {g_.scalar_f32("/const/f127", 127.0f),
                                           g_.node("Max", {amax, g_.scalar_f32("/const/f1e-5", 1e-5f)})});
    const std::string clipped =
        g_.node("Clip", {round_half_away(g_.node("Mul", {x, xs})), g_.scalar_f32("/const/fm128", -128.0f),
                         g_.scalar_f32("/const/f127", 127.0f)});
    return quantized_.emplace(x, std::make_pair(clipped, xs))
        .first->second;  // integers in [-128, 127], as floats
  }

  const TensorInfo& tensor(TensorRole role, int64_t l) const {
    const std::string name = tensor_name(TensorId{role, int(l)});
    const TensorInfo* t = f_.find(name);
    if (!t) throw Error(f_.path + ": missing tensor " + name);
    return *t;
  }

  // q / k rows (n rows of row_bytes) into rotate-half order; other roles are left as they are.
  void permute_qk(TensorRole role, void* rows, size_t row_bytes, size_t n) const {
    if (role != TensorRole::AttnQ && role != TensorRole::AttnK) return;
    const size_t heads = size_t(role == TensorRole::AttnQ ? s_.H : s_.KVH);
    permute_qk_row_bytes(static_cast<uint8_t*>(rows), row_bytes, heads, n / heads, file_rope_style(f_, arch_),
                         RopeStyle::RotateHalf);
  }

  // A float weight as an F32 initializer: [N, K] as stored, or transposed to [K, N] for MatMul.
  std::string weight_f32(TensorRole role, int64_t l, bool transpose) {
    const std::string name = tensor_name(TensorId{role, int(l)}, NameScheme::Onnx);
    if (done_.count(name)) return name;
    done_.insert(name);
    const TensorInfo& t = tensor(role, l);
    const int64_t K = int64_t(t.ne[0]), N = t.ne.size() > 1 ? int64_t(t.n_rows()) : 0;
    if (!g_.with_data()) {  // the structure only
      const std::vector<int64_t> dims = N == 0      ? std::vector<int64_t>{K}
                                        : transpose ? std::vector<int64_t>{K, N}
                                                    : std::vector<int64_t>{N, K};
      return g_.initializer(name, ElemType::Float, dims, nullptr, 0);
    }
    std::vector<float> v = dequantize_tensor(t);
    if (N == 0) return g_.f32(name, {K}, v);
    permute_qk(role, v.data(), size_t(K) * sizeof(float), size_t(N));
    if (!transpose) return g_.f32(name, {N, K}, v);
    std::vector<float> tr(v.size());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) tr[size_t(k * N + n)] = v[size_t(n * K + k)];
    return g_.f32(name, {K, N}, tr);
  }

  const ModelFile& f_;
  const ArchDescriptor& arch_;
  Shape s_{};
  GraphBuilder g_;
  std::string one_, zero_, cos_, sin_, bias_, axes_last_, scale_;
  std::map<std::string, std::pair<std::string, std::string>> quantized_;
  std::set<std::string> done_;
};

// ONNX Runtime GenAI's genai_config.json for this graph.
std::string genai_config(const ModelFile& f, const Shape& s) {
  auto id = [&](const char* key) { return f.get_int(std::string("tokenizer.ggml.") + key, -1); };
  ordered_json decoder = {
      {"session_options", {{"log_id", "onnxruntime-genai"}, {"provider_options", ordered_json::array()}}},
      {"filename", "model.onnx"},
      {"head_size", s.hd},
      {"hidden_size", s.D},
      {"inputs",
       {{"input_ids", "input_ids"},
        {"attention_mask", "attention_mask"},
        {"past_key_names", "past_key_values.%d.key"},
        {"past_value_names", "past_key_values.%d.value"}}},
      {"outputs",
       {{"logits", "logits"},
        {"present_key_names", "present.%d.key"},
        {"present_value_names", "present.%d.value"}}},
      {"num_attention_heads", s.H},
      {"num_hidden_layers", s.L},
      {"num_key_value_heads", s.KVH},
  };
  ordered_json model = {
      {"bos_token_id", id("bos_token_id")},
      {"context_length", s.ctx},
      {"decoder", decoder},
      {"eos_token_id", id("eos_token_id")},
      {"pad_token_id", id("padding_token_id") >= 0 ? id("padding_token_id") : id("eos_token_id")},
      {"type", "llama"},
      {"vocab_size", s.V}};
  ordered_json search = {{"diversity_penalty", 0.0},
                         {"do_sample", false},
                         {"early_stopping", true},
                         {"length_penalty", 1.0},
                         {"max_length", s.ctx},
                         {"min_length", 0},
                         {"no_repeat_ngram_size", 0},
                         {"num_beams", 1},
                         {"num_return_sequences", 1},
                         {"past_present_share_buffer", false},
                         {"repetition_penalty", 1.0},
                         {"temperature", 1.0},
                         {"top_k", 1},
                         {"top_p", 1.0}};
  return ordered_json{{"model", model}, {"search", search}}.dump(4) + "\n";
}

}  // namespace

GraphBuilder decoder_structure(const ModelFile& f) {
  const ArchDescriptor* arch = find_arch(f.get_string("general.architecture"));
  if (!arch)
    throw Error(f.path + ": architecture '" + f.get_string("general.architecture") + "' has no ONNX graph");
  DecoderWriter w(f, *arch, false);
  w.build();
  return w.graph();
}

void write(const ModelFile& f, const fs::path& dir, const WriteOptions& options) {
  if (!options.empty())
    throw Error(dir.string() + ": the onnx writer has no option '" + options.begin()->first + "'");
  const ArchDescriptor* arch = find_arch(f.get_string("general.architecture"));
  if (!arch)
    throw Error(f.path + ": architecture '" + f.get_string("general.architecture") +
                "' cannot be written as ONNX");
  write_directory_atomically(dir, [&](const fs::path& tmp) {
    DecoderWriter w(f, *arch, true);
    w.build();
    w.write(tmp, version());
    write_text_atomically(tmp / "genai_config.json", genai_config(f, w.shape()));
    write_text_atomically(tmp / "config.json", hf_config_json(f, "offline", "float32"));
    if (f.get("tokenizer.ggml.tokens"))
      write_tokenizer_files(Vocab::from_metadata(f), tmp, f.get_string("tokenizer.chat_template", ""));
  });
}

}  // namespace tern::onnx
