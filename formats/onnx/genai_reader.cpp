// Reading llama-family decoders in the layout ONNX Runtime GenAI's model builder writes. The graph is
// recognised by its data flow, not by node names: from input_ids through each layer's norms, projections,
// attention and MLP to logits, every node's op, attributes and inputs checked against what tern computes, and
// every node accounted for. Anything else is refused naming the node or initializer, never run as a wrong
// model. MatMulNBits weights are repacked exactly into Q4_ZP.
#include "genai_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "genai_weights.h"
#include "tern/arch.h"
#include "tern/error.h"
#include "tern/hf_config.h"

namespace fs = std::filesystem;

namespace tern::onnx {
namespace {

constexpr const char* kMs = "com.microsoft";

struct Dims {
  size_t vocab = 0, hidden = 0, ffn = 0, heads = 0, kv_heads = 0, head_dim = 0, layers = 0;
};

class Recogniser : public GraphIndex {
 public:
  Recogniser(const Graph& g, const std::string& path, Weights& weights, ModelFile& mf)
      : GraphIndex(g, path, "tern reads ONNX Runtime GenAI's llama decoder layout"),
        weights_(weights),
        mf_(mf),
        used_(g.nodes.size()) {
    for (const auto& n : g.input_names) graph_inputs_.insert(n);
  }

  void run();
  float eps() const { return eps_; }
  const Dims& dims() const { return d_; }
  bool interleaved() const { return interleaved_; }
  // RoPE's base frequency from the cos / sin tables, checked against the whole tables; `hint` (config.json's
  // rope_theta, or 0) is preferred when it fits them.
  double rope_theta(double hint) const;
  size_t rope_positions() const { return cos_ ? size_t(cos_->dims[0]) : 0; }

 private:
  const Node& use(size_t i) {
    used_[i] = true;
    return g_.nodes[i];
  }
  const Node& producer(const std::string& v, const Node& from) { return use(producer_index(v, from)); }
  std::vector<int64_t> ints(const Initializer& t) const {
    if (t.type != int32_t(ElemType::Int64) || t.elements() > 8)
      fail_init(t.name, "is not a small int64 constant");
    const std::string_view b = weights_.bytes(t);
    std::vector<int64_t> v(t.elements());
    std::memcpy(v.data(), b.data(), b.size());
    return v;
  }

  // The single node consuming `v`, marked used.
  const Node& only_consumer(const std::string& v, const Node& from) {
    const auto c = consumers(v);
    if (c.size() != 1)
      fail(from, "output " + v + " feeds " + std::to_string(c.size()) + " nodes, expected one");
    return use(c[0]);
  }
  bool is_linear(const Node& n) const {
    return (n.op == "MatMul" && (n.domain.empty() || n.domain == "ai.onnx")) ||
           (n.op == "MatMulNBits" && n.domain == kMs);
  }
  const Node& linear_consumer(const std::string& v, const Node& from) {
    const Node& n = only_consumer(v, from);
    if (!is_linear(n)) fail(n, "expected a MatMul or MatMulNBits here");
    return n;
  }
  void check_eps(const Node& n) {
    const float e = float_attr(n, "epsilon", 1e-5f);
    if (!(e >= 0) || !std::isfinite(e)) fail(n, "epsilon is not a finite non-negative number");
    if (have_eps_ && e != eps_) fail(n, "epsilon differs from the other norms' (tern has one)");
    eps_ = e, have_eps_ = true;
  }
  // A norm weight [hidden].
  void add_norm(const Node& n, TensorId id);
  void add_linear(const Node& n, TensorId id, size_t k, size_t rows);
  void check_seqlens(const Node& gqa);
  void check_rotary_tables(const Node& n, size_t cos_input);
  const Node& skip_norm_of(const std::string& a, const std::string& b);
  void layer(size_t l, const Node& norm, std::string& residual, std::string& pending);
  void check_attention_attrs(const Node& a, size_t l);
  std::string mlp(size_t l, const Node& post);
  void add(TensorInfo ti, const void* bytes, size_t nbytes) {
    uint8_t* dst = mf_.alloc(nbytes);
    std::memcpy(dst, bytes, nbytes);
    ti.data = dst;
    ti.nbytes = nbytes;
    mf_.tensors.push_back(std::move(ti));
  }

  Weights& weights_;
  ModelFile& mf_;
  std::vector<bool> used_;
  std::set<std::string> graph_inputs_;
  Dims d_;
  float eps_ = 0;
  bool have_eps_ = false, interleaved_ = false, rotary_in_attention_ = false, have_rotary_ = false;
  const Initializer *cos_ = nullptr, *sin_ = nullptr;
  std::string seqlens_, total_;
};

void Recogniser::add_norm(const Node& n, TensorId id) {
  const Initializer& t = init(n, 2 < n.inputs.size() && n.op != "SimplifiedLayerNormalization" ? 2 : 1);
  if (t.type != int32_t(ElemType::Float) || t.dims.size() != 1 || size_t(t.dims[0]) != d_.hidden)
    fail_init(t.name, "is not a float norm weight of " + std::to_string(d_.hidden) + " values");
  const std::string_view b = weights_.bytes(t);
  TensorInfo ti;
  ti.name = tensor_name(id);
  ti.type = DType::F32;
  ti.ne = {d_.hidden};
  add(std::move(ti), b.data(), b.size());
}

// y = x W for W [K, N] (MatMul: float or float16 initializer) or MatMulNBits' 4-bit blocks, as `rows` rows of
// `k` in tern's layout: F32 / F16 transposed, or Q4_ZP.
void Recogniser::add_linear(const Node& n, TensorId id, size_t k, size_t rows) {
  TensorInfo ti;
  ti.name = tensor_name(id);
  ti.ne = {k, rows};
  if (n.op == "MatMul") {
    const Initializer& w = init(n, 1);
    const bool half = w.type == int32_t(ElemType::Float16);
    if ((w.type != int32_t(ElemType::Float) && !half) || w.dims.size() != 2 || size_t(w.dims[0]) != k ||
        size_t(w.dims[1]) != rows)
      fail_init(w.name, "is not a float [" + std::to_string(k) + ", " + std::to_string(rows) + "] weight");
    const std::string_view b = weights_.bytes(w);
    const size_t es = half ? 2 : 4;
    std::vector<uint8_t> out(k * rows * es);
    for (size_t i = 0; i < k; ++i)
      for (size_t r = 0; r < rows; ++r)
        std::memcpy(&out[(r * k + i) * es], b.data() + (i * rows + r) * es, es);
    ti.type = half ? DType::F16 : DType::F32;
    add(std::move(ti), out.data(), out.size());
    return;
  }
  only_attrs(n, {"K", "N", "bits", "block_size", "accuracy_level"});
  const int64_t K = int_attr(n, "K", -1), N = int_attr(n, "N", -1), bits = int_attr(n, "bits", 4),
                block = int_attr(n, "block_size", -1);
  if (K != int64_t(k) || N != int64_t(rows))
    fail(n, "K x N is " + std::to_string(K) + " x " + std::to_string(N) + ", the model needs " +
                std::to_string(k) + " x " + std::to_string(rows));
  if (bits != 4) fail(n, std::to_string(bits) + "-bit weights; tern reads 4-bit MatMulNBits");
  if (block < 32 || block > 4096 || block % 32)
    fail(n, "block_size " + std::to_string(block) + "; tern's Q4_ZP holds blocks that are multiples of 32");
  if (k % 32) fail(n, "K = " + std::to_string(k) + " is not a multiple of 32");
  if (n.inputs.size() > 4 && !(n.inputs.size() == 5 && n.inputs[4].empty()))
    fail(n, "has a g_idx or bias input, which tern does not implement");
  const size_t nb = (k + size_t(block) - 1) / size_t(block), blob = size_t(block) / 2;
  const Initializer& B = init(n, 1);
  if (B.type != int32_t(ElemType::Uint8) || B.dims != std::vector<int64_t>{N, int64_t(nb), int64_t(blob)})
    fail_init(B.name, "is not uint8 [N, blocks, block_size / 2] codes");
  const Initializer& S = init(n, 2);
  const bool half = S.type == int32_t(ElemType::Float16);
  if ((S.type != int32_t(ElemType::Float) && !half) || S.elements() != rows * nb ||
      !(S.dims.size() == 1 || (S.dims.size() == 2 && size_t(S.dims[0]) == rows)))
    fail_init(S.name, "is not " + std::to_string(rows * nb) + " float scales");
  const bool has_zp = n.inputs.size() > 3 && !n.inputs[3].empty();
  const size_t zp_row = (nb + 1) / 2;
  std::string_view zp;
  if (has_zp) {
    const Initializer& Z = init(n, 3);
    if (Z.type != int32_t(ElemType::Uint8) || Z.elements() != rows * zp_row)
      fail_init(Z.name, "is not " + std::to_string(rows * zp_row) + " bytes of packed 4-bit zero points");
    zp = weights_.bytes(Z);
  }
  const std::string_view codes = weights_.bytes(B), scales = weights_.bytes(S);
  const auto u8 = [](std::string_view v) { return reinterpret_cast<const uint8_t*>(v.data()); };
  const std::vector<uint8_t> out =
      q4zp_from_matmul_nbits(u8(codes), u8(scales), half, has_zp ? u8(zp) : nullptr, k, rows, size_t(block));
  if (out.empty()) fail_init(S.name, "holds a scale that is not finite");
  ti.type = DType::Q4_ZP;
  add(std::move(ti), out.data(), out.size());
}

// seqlens_k = ReduceSum(attention_mask, axes [1]) - 1 and total_sequence_length = Shape(attention_mask)[1],
// both cast to int32: the builder's mask subgraph. tern's attention is causal over every position before the
// token, which is what these compute when the mask is all ones.
void Recogniser::check_seqlens(const Node& gqa) {
  if (gqa.inputs.size() < 7) fail(gqa, "has no seqlens_k / total_sequence_length inputs");
  if (!seqlens_.empty()) {
    if (gqa.inputs[5] != seqlens_ || gqa.inputs[6] != total_)
      fail(gqa, "takes other sequence lengths than layer 0");
    return;
  }
  seqlens_ = gqa.inputs[5], total_ = gqa.inputs[6];
  const Node& cast = producer(seqlens_, gqa);
  expect(cast, "Cast", "");
  if (int_attr(cast, "to", 0) != int64_t(ElemType::Int32)) fail(cast, "does not cast to int32");
  const Node& sub = producer(cast.inputs.at(0), cast);
  expect(sub, "Sub", "");
  if (ints(init(sub, 1)) != std::vector<int64_t>{1}) fail(sub, "does not subtract 1");
  const Node& sum = producer(sub.inputs.at(0), sub);
  expect(sum, "ReduceSum", "");
  if (sum.inputs.at(0) != "attention_mask" || ints(init(sum, 1)) != std::vector<int64_t>{1} ||
      int_attr(sum, "keepdims", 1) != 0)
    fail(sum, "is not attention_mask summed over axis 1");
  const Node& cast2 = producer(total_, gqa);
  expect(cast2, "Cast", "");
  if (int_attr(cast2, "to", 0) != int64_t(ElemType::Int32)) fail(cast2, "does not cast to int32");
  const Node& gather = producer(cast2.inputs.at(0), cast2);
  expect(gather, "Gather", "");
  if (ints(init(gather, 1)) != std::vector<int64_t>{1} || int_attr(gather, "axis", 0) != 0)
    fail(gather, "is not element 1 of the mask's shape");
  const Node& shape = producer(gather.inputs.at(0), gather);
  expect(shape, "Shape", "");
  if (shape.inputs.at(0) != "attention_mask" || !shape.attrs.empty())
    fail(shape, "is not attention_mask's shape");
}

void Recogniser::check_rotary_tables(const Node& n, size_t cos_input) {
  const Initializer &c = init(n, cos_input), &s = init(n, cos_input + 1);
  if (cos_) {
    if (&c != cos_ || &s != sin_) fail(n, "uses other cos / sin tables than the first rotary node");
    return;
  }
  for (const Initializer* t : {&c, &s})
    if (t->type != int32_t(ElemType::Float) || t->dims.size() != 2 || t->dims[0] < 2 ||
        size_t(t->dims[1]) * 2 != d_.head_dim || t->dims != c.dims)
      fail_init(t->name, "is not a float [positions, head_dim / 2] table (partial rotary is not supported)");
  cos_ = &c, sin_ = &s;
}

double Recogniser::rope_theta(double hint) const {
  const auto u8 = [](std::string_view v) { return reinterpret_cast<const uint8_t*>(v.data()); };
  const double theta = rope_theta_from_tables(u8(weights_.bytes(*cos_)), u8(weights_.bytes(*sin_)),
                                              size_t(cos_->dims[0]), d_.head_dim, hint);
  if (!theta)
    fail_init(cos_->name, "is not plain RoPE with one base frequency (RoPE scaling is not supported)");
  return theta;
}

const Node& Recogniser::skip_norm_of(const std::string& a, const std::string& b) {
  for (size_t i : consumers(a)) {
    const Node& n = g_.nodes[i];
    if (n.op == "SkipSimplifiedLayerNormalization" && n.domain == kMs && n.inputs.size() >= 3 &&
        ((n.inputs[0] == a && n.inputs[1] == b) || (n.inputs[0] == b && n.inputs[1] == a))) {
      only_attrs(n, {"epsilon"});
      if (n.inputs.size() > 3 && !n.inputs[3].empty())
        fail(n, "has a bias input, which tern does not implement");
      for (size_t o = 1; o < 3 && o < n.outputs.size(); ++o)
        if (!n.outputs[o].empty() && !consumers(n.outputs[o]).empty())
          fail(n, "its mean / inverse deviation are used");
      check_eps(n);
      return use(i);
    }
  }
  const auto c = consumers(a);
  if (c.empty())
    throw Error(path_ + ": value " + a + " is not used; tern expected a SkipSimplifiedLayerNormalization");
  fail(g_.nodes[c[0]], "expected the SkipSimplifiedLayerNormalization adding " + a + " and " + b);
}

// GroupQueryAttention's attributes: head counts (layer 0 sets them), and nothing tern does not compute.
void Recogniser::check_attention_attrs(const Node& a, size_t l) {
  only_attrs(a, {"num_heads", "kv_num_heads", "scale", "do_rotary", "rotary_interleaved", "local_window_size",
                 "softcap", "smooth_softmax"});
  const int64_t H = int_attr(a, "num_heads", 0), KV = int_attr(a, "kv_num_heads", 0);
  if (H <= 0 || KV <= 0 || H % KV || H > 4096)
    fail(a, "num_heads / kv_num_heads are not a grouped-query split");
  if (l == 0) {
    d_.heads = size_t(H), d_.kv_heads = size_t(KV);
    if (d_.hidden % d_.heads) fail(a, "hidden size is not a multiple of num_heads");
    d_.head_dim = d_.hidden / d_.heads;
  } else if (size_t(H) != d_.heads || size_t(KV) != d_.kv_heads) {
    fail(a, "has other head counts than layer 0");
  }
  if (int_attr(a, "local_window_size", -1) != -1)
    fail(a, "uses a sliding window, which tern does not implement");
  if (float_attr(a, "softcap", 0.0f) != 0.0f || int_attr(a, "smooth_softmax", 0) != 0)
    fail(a, "caps or smooths its softmax, which tern does not implement");
  const float scale = float_attr(a, "scale", 0.0f);
  if (scale != 0.0f && std::fabs(scale * std::sqrt(float(d_.head_dim)) - 1.0f) > 1e-6f)
    fail(a, "scales scores by " + std::to_string(scale) + ", not 1 / sqrt(head_dim)");
}

// gate and up projections of the post-attention norm's output, SiLU as gate * sigmoid(gate), times up, then
// down: returns down's output.
std::string Recogniser::mlp(size_t l, const Node& post) {
  const int L = int(l);
  const auto mlp = consumers(post.outputs.at(0));
  if (mlp.size() != 2) fail(post, "output feeds " + std::to_string(mlp.size()) + " nodes, not gate and up");
  const Node* gate = nullptr;
  const Node* up = nullptr;
  for (size_t i : mlp) {
    const Node& p = use(i);
    if (!is_linear(p)) fail(p, "expected the gate or up projection here");
    (consumers(p.outputs.at(0)).size() == 2 ? gate : up) = &p;
  }
  if (!gate || !up) fail(post, "MLP is not gate and up projections with SiLU on the gate");
  const std::string& gv = gate->outputs[0];
  const Node* sig = nullptr;
  const Node* act = nullptr;
  for (size_t i : consumers(gv)) {
    const Node& c = use(i);
    if (c.op != "Sigmoid" && c.op != "Mul") fail(c, "expected SiLU's Sigmoid or Mul on the gate here");
    (c.op == "Sigmoid" ? sig : act) = &c;
  }
  if (!sig || !act) fail(*gate, "output is not SiLU's Sigmoid and Mul");
  expect(*sig, "Sigmoid", "");
  expect(*act, "Mul", "");
  const Node& sig_mul = only_consumer(sig->outputs.at(0), *sig);
  if (&sig_mul != act || std::set<std::string>(act->inputs.begin(), act->inputs.end()) !=
                             std::set<std::string>{gv, sig->outputs[0]})
    fail(*act, "is not gate * sigmoid(gate)");
  const Node& prod = only_consumer(act->outputs.at(0), *act);
  expect(prod, "Mul", "");
  if (std::set<std::string>(prod.inputs.begin(), prod.inputs.end()) !=
          std::set<std::string>{act->outputs[0], up->outputs.at(0)} ||
      consumers(up->outputs[0]).size() != 1)
    fail(prod, "is not silu(gate) * up");
  const Node& down = linear_consumer(prod.outputs.at(0), prod);
  const size_t ffn = size_t(int_attr(*gate, "N", 0));
  if (l == 0) {
    if (gate->op == "MatMul")
      d_.ffn = size_t(init(*gate, 1).dims.size() == 2 ? init(*gate, 1).dims[1] : 0);
    else
      d_.ffn = ffn;
    if (!d_.ffn) fail(*gate, "has no output size");
  }
  add_linear(*gate, {TensorRole::FfnGate, L}, d_.hidden, d_.ffn);
  add_linear(*up, {TensorRole::FfnUp, L}, d_.hidden, d_.ffn);
  add_linear(down, {TensorRole::FfnDown, L}, d_.ffn, d_.hidden);
  return down.outputs.at(0);
}

void Recogniser::layer(size_t l, const Node& norm, std::string& residual, std::string& pending) {
  const int L = int(l);
  add_norm(norm, {TensorRole::AttnNorm, L});
  const std::string& h = norm.outputs.at(0);
  const auto projections = consumers(h);
  if (projections.size() != 3)
    fail(norm, "output feeds " + std::to_string(projections.size()) + " nodes, not q/k/v");
  const Node* gqa = nullptr;
  const Node* proj[3] = {};
  std::vector<const Node*> rotaries;  // checked once the head size is known
  for (size_t pi : projections) {
    const Node& p = use(pi);
    if (!is_linear(p)) fail(p, "expected a q, k or v projection here");
    const Node* into = &only_consumer(p.outputs.at(0), p);
    std::string value = p.outputs[0];
    if (into->op == "RotaryEmbedding" && into->domain == kMs) {
      const Node& rot = *into;
      only_attrs(rot, {"interleaved", "num_heads", "rotary_embedding_dim", "scale", "is_packed_batching"});
      if (rot.inputs.size() != 4 || rot.inputs[0] != value || rot.inputs[1] != "position_ids" ||
          !graph_inputs_.count("position_ids"))
        fail(rot, "is not RotaryEmbedding(x, position_ids, cos_cache, sin_cache)");
      if (int_attr(rot, "rotary_embedding_dim", 0) != 0 &&
          size_t(int_attr(rot, "rotary_embedding_dim", 0)) != d_.head_dim)
        fail(rot, "rotates part of each head, which tern does not implement");
      if (float_attr(rot, "scale", 1.0f) != 1.0f || int_attr(rot, "is_packed_batching", 0) != 0)
        fail(rot, "has a scale or packed batching");
      const bool inter = int_attr(rot, "interleaved", 0) != 0;
      if (have_rotary_ && inter != interleaved_) fail(rot, "mixes interleaved and rotate-half RoPE");
      interleaved_ = inter, have_rotary_ = true;
      rotaries.push_back(&rot);
      value = rot.outputs.at(0);
      into = &only_consumer(value, rot);
    }
    if (into->op != "GroupQueryAttention" || into->domain != kMs)
      fail(*into, "expected GroupQueryAttention here");
    if (gqa && gqa != into) fail(*into, "q, k and v go to different attention nodes");
    gqa = into;
    const auto slot =
        std::find(gqa->inputs.begin(), gqa->inputs.begin() + std::min<size_t>(3, gqa->inputs.size()), value);
    if (slot == gqa->inputs.begin() + std::min<size_t>(3, gqa->inputs.size()))
      fail(*gqa, "takes " + value + " as no q/k/v");
    const size_t s = size_t(slot - gqa->inputs.begin());
    if (proj[s]) fail(*gqa, "takes two values in one slot");
    proj[s] = &p;
    if (s == 2 && value != p.outputs[0]) fail(*gqa, "v is rotated");
  }
  const Node& a = *gqa;
  check_attention_attrs(a, l);
  for (const Node* rot : rotaries) check_rotary_tables(*rot, 2);
  const bool rotary_inside = int_attr(a, "do_rotary", 0) != 0;
  if (l == 0) rotary_in_attention_ = rotary_inside;
  if (rotary_inside != rotary_in_attention_) fail(a, "applies RoPE where layer 0 does not (or the reverse)");
  if (rotary_inside) {
    if (a.inputs.size() < 9) fail(a, "do_rotary without cos / sin tables");
    const bool inter = int_attr(a, "rotary_interleaved", 0) != 0;
    if (have_rotary_ && inter != interleaved_) fail(a, "mixes interleaved and rotate-half RoPE");
    interleaved_ = inter, have_rotary_ = true;
    check_rotary_tables(a, 7);
    for (int s = 0; s < 3; ++s)
      if (a.inputs[size_t(s)] != proj[s]->outputs[0]) fail(a, "RoPE applied twice");
  } else {
    for (int s = 0; s < 2; ++s)
      if (!proj[s] || a.inputs[size_t(s)] == proj[s]->outputs[0])
        fail(a, "q / k reach attention without RoPE");
  }
  if (!proj[0] || !proj[1] || !proj[2]) fail(a, "does not take three projections as q, k and v");
  if (a.inputs.size() > (rotary_inside ? 9u : 7u))
    for (size_t i = rotary_inside ? 9 : 7; i < a.inputs.size(); ++i)
      if (!a.inputs[i].empty())
        fail(a, "has input " + a.inputs[i] + " (position ids, bias or sinks), which tern does not implement");
  if (a.inputs.size() > 7 && !rotary_inside)
    for (size_t i = 7; i < a.inputs.size(); ++i)
      if (!a.inputs[i].empty()) fail(a, "has cos / sin tables without do_rotary");
  for (int s = 3; s < 5; ++s)
    if (!graph_inputs_.count(a.inputs.at(size_t(s)))) fail(a, "past key / value are not graph inputs");
  check_seqlens(a);
  const size_t D = d_.head_dim;
  add_linear(*proj[0], {TensorRole::AttnQ, L}, d_.hidden, d_.heads * D);
  add_linear(*proj[1], {TensorRole::AttnK, L}, d_.hidden, d_.kv_heads * D);
  add_linear(*proj[2], {TensorRole::AttnV, L}, d_.hidden, d_.kv_heads * D);

  const Node& o = linear_consumer(a.outputs.at(0), a);
  add_linear(o, {TensorRole::AttnOutput, L}, d_.heads * D, d_.hidden);
  const Node& post = skip_norm_of(o.outputs.at(0), residual);
  if (post.outputs.size() < 4 || post.outputs[3].empty()) fail(post, "does not output the residual sum");
  add_norm(post, {TensorRole::FfnNorm, L});
  residual = post.outputs[3];

  pending = mlp(l, post);
}

void Recogniser::run() {
  for (const auto& n : g_.input_names)
    if (n != "input_ids" && n != "attention_mask" && n != "position_ids" &&
        n.rfind("past_key_values.", 0) != 0)
      throw Error(path_ + ": graph input " + n +
                  " is not one tern feeds (input_ids, attention_mask, position_ids, "
                  "past_key_values.N.key / value)");
  const Node* embed = nullptr;
  for (size_t i : consumers("input_ids")) {
    if (embed) fail(g_.nodes[i], "input_ids feeds more than the embedding");
    embed = &use(i);
  }
  if (!embed) throw Error(path_ + ": no node reads input_ids");
  expect(*embed, "Gather", "");
  if (embed->inputs.size() != 2 || embed->inputs[1] != "input_ids" || int_attr(*embed, "axis", 0) != 0)
    fail(*embed, "is not an embedding lookup (Gather of input_ids on axis 0)");
  const Initializer& E = init(*embed, 0);
  const bool half = E.type == int32_t(ElemType::Float16);
  if ((E.type != int32_t(ElemType::Float) && !half) || E.dims.size() != 2 || E.dims[0] < 1 || E.dims[1] < 1)
    fail_init(E.name, "is not a float [vocab, hidden] embedding table");
  d_.vocab = size_t(E.dims[0]), d_.hidden = size_t(E.dims[1]);
  {
    const std::string_view b = weights_.bytes(E);
    TensorInfo ti;
    ti.name = tensor_name({TensorRole::TokenEmbd, -1});
    ti.type = half ? DType::F16 : DType::F32;
    ti.ne = {d_.hidden, d_.vocab};
    add(std::move(ti), b.data(), b.size());
  }
  std::string residual = embed->outputs.at(0), pending;
  const auto first = consumers(residual);
  const Node* norm = nullptr;
  for (size_t i : first)
    if (g_.nodes[i].op == "SimplifiedLayerNormalization") norm = &use(i);
  if (!norm) throw Error(path_ + ": the embedding does not feed a SimplifiedLayerNormalization");
  only_attrs(*norm, {"epsilon", "axis", "stash_type"});
  if (int_attr(*norm, "axis", -1) != -1 || int_attr(*norm, "stash_type", 1) != 1 || norm->inputs.size() != 2)
    fail(*norm, "is not RMS normalization over the last axis in float");
  check_eps(*norm);
  for (size_t l = 0;; ++l) {
    if (l > 4096) fail(*norm, "more than 4096 layers");
    layer(l, *norm, residual, pending);
    norm = &skip_norm_of(pending, residual);
    const auto next = consumers(norm->outputs.at(0));
    if (next.size() == 1 && is_linear(g_.nodes[next[0]]) && g_.nodes[next[0]].outputs.at(0) == "logits") {
      d_.layers = l + 1;
      add_norm(*norm, {TensorRole::OutputNorm, -1});
      add_linear(use(next[0]), {TensorRole::Output, -1}, d_.hidden, d_.vocab);
      break;
    }
    if (norm->outputs.size() < 4 || norm->outputs[3].empty()) fail(*norm, "does not output the residual sum");
    residual = norm->outputs[3];
  }
  for (size_t i = 0; i < g_.nodes.size(); ++i)
    if (!used_[i]) fail(g_.nodes[i], "is not part of the decoder tern recognised");
  for (const auto& o : g_.output_names)
    if (o != "logits" && o.rfind("present.", 0) != 0)
      throw Error(path_ + ": graph output " + o + " is not logits or present.N.key / value");
}

// A positive integer from a JSON object, or 0.
int64_t json_int(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : 0;
}

}  // namespace

bool is_genai_layout(const Graph& g) {
  return std::any_of(g.nodes.begin(), g.nodes.end(),
                     [](const Node& n) { return n.domain == kMs && n.op == "GroupQueryAttention"; });
}

void read_genai(const Graph& g, const fs::path& dir, const std::string& path, ModelFile& mf) {
  if (g.opset < 14 || g.opset > 23)
    throw Error(path + ": opset " + std::to_string(g.opset) + " (tern reads 14 to 23)");
  if (g.ms_opset != 1) throw Error(path + ": the graph does not import com.microsoft opset 1");
  Weights weights(dir, path, mf.storage);
  Recogniser rec(g, path, weights, mf);
  rec.run();
  const Dims& d = rec.dims();

  std::error_code ec;
  nlohmann::json cfg = nlohmann::json::object(), genai = nlohmann::json::object();
  const fs::path config_path = dir / "config.json", genai_path = dir / "genai_config.json";
  if (fs::exists(config_path, ec)) cfg = read_json_object(config_path);
  if (fs::exists(genai_path, ec)) genai = read_json_object(genai_path);
  const nlohmann::json model = genai.contains("model") ? genai["model"] : nlohmann::json::object();
  auto set = [&](const char* key, int64_t v) {
    if (cfg.contains(key) && !cfg[key].is_null() && cfg[key] != v)
      throw Error(config_path.string() + ": " + key + " = " + cfg[key].dump() + ", but the graph has " +
                  std::to_string(v));
    cfg[key] = v;
  };
  set("hidden_size", int64_t(d.hidden));
  set("num_hidden_layers", int64_t(d.layers));
  set("intermediate_size", int64_t(d.ffn));
  set("num_attention_heads", int64_t(d.heads));
  set("num_key_value_heads", int64_t(d.kv_heads));
  set("vocab_size", int64_t(d.vocab));
  set("head_dim", int64_t(d.head_dim));
  if (!cfg.contains("max_position_embeddings")) {
    const int64_t ctx = json_int(model, "context_length");
    cfg["max_position_embeddings"] = ctx > 0 ? ctx : int64_t(rec.rope_positions());
  }
  for (const char* key : {"bos_token_id", "eos_token_id"})
    if (!cfg.contains(key) && model.contains(key)) cfg[key] = model[key];
  const double hint =
      cfg.contains("rope_theta") && cfg["rope_theta"].is_number() ? cfg["rope_theta"].get<double>() : 0;
  cfg["rope_theta"] = rec.rope_theta(hint);
  cfg["rms_norm_eps"] = double(rec.eps());
  // The graph defines the model: a llama decoder with its own lm_head, whatever config.json names.
  cfg["architectures"] = nlohmann::json::array({"LlamaForCausalLM"});
  cfg["model_type"] = "llama";
  cfg["hidden_act"] = "silu";
  cfg["tie_word_embeddings"] = false;
  cfg.erase("quantization_config");
  read_hf_config(cfg, (fs::exists(config_path, ec) ? config_path : genai_path).string(), mf.meta,
                 dir.filename().string());
  mf.meta["tern.rope_layout"] = MetaValue::str(rec.interleaved() ? "interleaved" : "rotate_half");
  read_hf_tokenizer(dir, cfg, mf.meta);
  std::sort(mf.tensors.begin(), mf.tensors.end(),
            [](const TensorInfo& x, const TensorInfo& y) { return x.name < y.name; });
}

}  // namespace tern::onnx
