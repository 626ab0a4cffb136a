#include "tern/model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <new>
#include <optional>

#include "tern/arch.h"
#include "tern/error.h"
#include "tern/health.h"
#include "tern/weight_memory.h"

namespace tern {

HParams HParams::from_metadata(const ModelFile& f) {
  HParams hp;
  hp.arch = f.get_string("general.architecture");
  if (hp.arch.empty()) throw Error(f.path + ": missing general.architecture");
  const ArchDescriptor* arch = find_arch(hp.arch);
  if (!arch)
    throw Error(f.path + ": unsupported architecture '" + hp.arch +
                "' (supported: " + supported_arch_names() + ")");
  const std::string a = hp.arch + ".";
  // A count in [1, 2^24]: `fallback` when the key is absent, or an error when there is none.
  auto count = [&](const std::string& key, std::optional<size_t> fallback) -> size_t {
    if (!f.get(a + key) && fallback) return *fallback;
    const int64_t v = f.get_int(a + key, -1);
    if (v <= 0 || v > (int64_t(1) << 24))
      throw Error(f.path + ": " +
                  (fallback ? "invalid " + a + key + " (" + std::to_string(v) + ")"
                            : "missing or invalid " + a + key));
    return size_t(v);
  };
  auto need = [&](const std::string& key) { return count(key, std::nullopt); };
  auto positive_float = [&](const std::string& key, double fallback, bool zero_ok) -> float {
    const double v = f.get_float(a + key, fallback);
    if (!std::isfinite(v) || v < 0 || (!zero_ok && v == 0) || v > 1e30)
      throw Error(f.path + ": " + a + key + " = " + std::to_string(v) + " is not a " +
                  (zero_ok ? "finite non-negative" : "finite positive") + " number");
    return float(v);
  };
  hp.n_embd = need("embedding_length");
  hp.n_layer = need("block_count");
  hp.n_ff = need("feed_forward_length");
  hp.n_head = need("attention.head_count");
  hp.n_head_kv = count("attention.head_count_kv", hp.n_head);
  hp.n_ctx_train = count("context_length", 2048);
  hp.rope_theta = positive_float("rope.freq_base", 10000.0, false);
  hp.norm_eps = positive_float("attention.layer_norm_rms_epsilon", 1e-5, true);
  if (hp.n_head % hp.n_head_kv != 0)
    throw Error(f.path + ": head_count " + std::to_string(hp.n_head) +
                " is not a multiple of head_count_kv " + std::to_string(hp.n_head_kv));
  if (hp.n_embd % hp.n_head != 0) throw Error(f.path + ": embedding_length is not a multiple of head_count");
  hp.head_dim = count("attention.key_length", hp.n_embd / hp.n_head);
  if (hp.head_dim % 2 != 0) throw Error(f.path + ": head dimension must be even for RoPE");
  hp.n_vocab = count("vocab_size", size_t(std::max<int64_t>(0, file_vocab_size(f, *arch))));
  hp.bitlinear = arch->bitlinear;
  hp.ffn_act = file_ffn_activation(f, *arch);
  hp.rope_style = file_rope_style(f, *arch);
  return hp;
}

namespace {

const TensorInfo& tensor(const ModelFile& f, const std::string& name) {
  const auto* t = f.find(name);
  if (!t) throw Error(f.path + ": missing tensor " + name);
  return *t;
}

void check_shape(const ModelFile& f, const TensorInfo& t, std::vector<uint64_t> want) {
  if (t.ne != want) {
    TensorInfo w;
    w.ne = want;
    throw Error(f.path + ": tensor " + t.name + " has shape " + t.shape_string() + ", expected " +
                w.shape_string());
  }
}

// How weight() loads each matrix: through the backend's prepare unless the layout is File. The file's
// mappings are read once, for dropping the pages of each prepared weight.
struct WeightLoading {
  const Backend& backend;
  WeightLayout layout;
  SharedFileMappings file_mappings;
};

WeightView weight(const ModelFile& f, const WeightLoading& load, const std::string& name, size_t k,
                  size_t n) {
  const Backend& be = load.backend;
  const auto& t = tensor(f, name);
  check_shape(f, t, {k, n});
  if (!dtype_row_ok(t.type, k))
    throw Error(f.path + ": tensor " + name + " row length " + std::to_string(k) +
                " is not a multiple of the " + dtype_name(t.type) + " block size");
  if (!be.supports(t.type))
    throw Error(f.path + ": tensor " + name + " has type " + dtype_name(t.type) +
                ", which this backend cannot run");
  if (t.nbytes < dtype_tensor_bytes(t.type, k, n))
    throw Error(f.path + ": tensor " + name + " data is shorter than its shape and type need");
  WeightView w;
  w.type = t.type;
  w.data = t.data;
  w.nbytes = t.nbytes;
  w.k = k;
  w.n = n;
  w.scale = tensor_scale(t.type, t.data, k, n);
  if (load.layout == WeightLayout::Backend) {
    try {
      be.prepare(w);
    } catch (const std::bad_alloc&) {
      throw Error(f.path + ": no memory for the backend's copy of tensor " + name +
                  " (--no-repack runs the file's bytes)");
    }
  }
  // The backend reads its own copy of a prepared weight, so the file's pages would only take memory; dropped
  // one weight at a time, they never add up.
  if (w.prepared) load.file_mappings.drop_pages(w.data, w.nbytes);
  return w;
}

std::vector<float> norm_weight(const ModelFile& f, const std::string& name, size_t dim, float correction) {
  const auto& t = tensor(f, name);
  check_shape(f, t, {dim});
  if (t.type != DType::F32 && t.type != DType::F16 && t.type != DType::BF16)
    throw Error(f.path + ": norm tensor " + name + " must be F32, F16 or BF16, not " + dtype_name(t.type));
  if (t.nbytes < dtype_tensor_bytes(t.type, dim, 1))
    throw Error(f.path + ": tensor " + name + " is truncated");
  std::vector<float> v(dim);
  dequantize_row(t.type, t.data, v.data(), dim);
  if (correction != 1.0f)
    for (auto& x : v) x *= correction;
  return v;
}

}  // namespace

Model::Model(std::unique_ptr<ModelFile> file, std::shared_ptr<Backend> backend, WeightPlacement placement,
             WeightLayout layout)
    : file_(std::move(file)), backend_(std::move(backend)) {
  const auto& f = *file_;
  hp_ = HParams::from_metadata(f);
  const size_t D = hp_.n_embd, F = hp_.n_ff, hd = hp_.head_dim;
  const size_t q_dim = hp_.n_head * hd, kv_dim = hp_.n_head_kv * hd;
  if (hp_.n_vocab == 0) throw Error(f.path + ": cannot determine vocabulary size");
  const float fix = norm_correction_factor();
  if (fix != 1.0f)
    std::fprintf(stderr,
                 "tern: warning: TERN_FIX_LN_SCALE=%g multiplies every norm weight of %s (a runtime "
                 "correction; re-export the model instead)\n",
                 double(fix), f.path.c_str());
  using R = TensorRole;
  const WeightLoading load{*backend_, layout, {}};
  const std::string embd_name = tensor_name({R::TokenEmbd}), output_name = tensor_name({R::Output});
  token_embd_ = weight(f, load, embd_name, D, hp_.n_vocab);
  output_ = f.find(output_name) ? weight(f, load, output_name, D, hp_.n_vocab) : token_embd_;
  output_norm_ = norm_weight(f, tensor_name({R::OutputNorm}), D, fix);
  for (size_t l = 0; l < hp_.n_layer; ++l) {
    auto name = [l](R role) { return tensor_name(role, l); };
    Layer L;
    L.attn_norm = norm_weight(f, name(R::AttnNorm), D, fix);
    L.ffn_norm = norm_weight(f, name(R::FfnNorm), D, fix);
    if (hp_.bitlinear) {
      L.attn_sub_norm = norm_weight(f, name(R::AttnSubNorm), q_dim, fix);
      L.ffn_sub_norm = norm_weight(f, name(R::FfnSubNorm), F, fix);
    }
    L.wq = weight(f, load, name(R::AttnQ), D, q_dim);
    L.wk = weight(f, load, name(R::AttnK), D, kv_dim);
    L.wv = weight(f, load, name(R::AttnV), D, kv_dim);
    L.wo = weight(f, load, name(R::AttnOutput), q_dim, D);
    L.w_gate = weight(f, load, name(R::FfnGate), D, F);
    L.w_up = weight(f, load, name(R::FfnUp), D, F);
    L.w_down = weight(f, load, name(R::FfnDown), F, D);
    layers_.push_back(std::move(L));
  }
  if (placement == WeightPlacement::Memory) place_weights_in_memory();
}

Model::~Model() = default;

void Model::place_weights_in_memory() {
  // A prepared weight runs from the backend's copy: the file's bytes are not copied again.
  std::vector<WeightView*> views;
  for (WeightView* w : {&token_embd_, &output_})
    if (!w->prepared) views.push_back(w);
  for (Layer& L : layers_)
    for (WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
      if (!w->prepared) views.push_back(w);
  // Views of the same bytes (tied embeddings) share one copy.
  std::map<const uint8_t*, const uint8_t*> copied;
  size_t bytes = 0;
  for (const WeightView* w : views)
    if (copied.emplace(w->data, nullptr).second) bytes += (w->nbytes + 63) / 64 * 64;
  weight_memory_ = std::make_unique<WeightMemory>(bytes);
  for (WeightView* w : views) {
    const uint8_t*& to = copied[w->data];
    if (!to) to = weight_memory_->copy(w->data, w->nbytes);
    w->data = to;
  }
}

uint64_t Model::weight_bytes() const {
  uint64_t n = 0;
  for (const auto& t : file_->tensors) n += t.nbytes;
  return n;
}

std::string kv_cache_type_name(DType type) {
  std::string name = dtype_name(type);
  for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string kv_cache_type_names() {
  std::string names;
  for (DType t : kv_cache_types()) names += (names.empty() ? "" : ", ") + kv_cache_type_name(t);
  return names;
}

bool is_kv_cache_type(DType type) {
  const auto types = kv_cache_types();
  return std::find(types.begin(), types.end(), type) != types.end();
}

void check_kv_cache_type(const HParams& hp, DType type, const std::string& option) {
  if (!is_kv_cache_type(type))
    throw Error(option + " " + kv_cache_type_name(type) + ": a KV cache is held in one of " +
                kv_cache_type_names());
  const size_t block = dtype_traits(type)->block_size;
  if (hp.head_dim % block != 0)
    throw Error(option + " " + kv_cache_type_name(type) + " needs a head size that is a multiple of " +
                std::to_string(block) + "; this model's is " + std::to_string(hp.head_dim));
}

Session::Session(const Model& model, size_t n_ctx, size_t n_threads, KvCacheTypes cache)
    : model_(model),
      n_ctx_(n_ctx),
      own_pool_(std::make_unique<ThreadPool>(n_threads)),
      pool_(own_pool_.get()),
      cache_(cache) {
  allocate();
}

Session::Session(const Model& model, size_t n_ctx, ThreadPool& shared_pool, KvCacheTypes cache)
    : model_(model), n_ctx_(n_ctx), pool_(&shared_pool), cache_(cache) {
  allocate();
}

void Session::allocate() {
  const auto& hp = model_.hparams();
  check_kv_cache_type(hp, cache_.k, "--cache-type-k");
  check_kv_cache_type(hp, cache_.v, "--cache-type-v");
  const size_t kv = hp.n_head_kv * hp.head_dim;
  k_row_bytes_ = dtype_row_bytes(cache_.k, kv);
  v_row_bytes_ = dtype_row_bytes(cache_.v, kv);
  k_cache_.assign(hp.n_layer * n_ctx_ * k_row_bytes_, 0);
  v_cache_.assign(hp.n_layer * n_ctx_ * v_row_bytes_, 0);
  logits_.resize(hp.n_vocab);
}

const std::vector<float>& Session::eval(const std::vector<int32_t>& tokens) {
  if (tokens.empty()) throw Error("eval: no tokens");
  forward(model_, {Run{this, 0, tokens.size()}}, tokens.data(), tokens.size(), *pool_);
  return logits_;
}

void Session::decode_batch(const std::vector<Session*>& sessions, const std::vector<int32_t>& tokens) {
  if (sessions.empty() || sessions.size() != tokens.size())
    throw Error("decode_batch: one token per session");
  std::vector<Run> runs;
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (&sessions[i]->model_ != &sessions[0]->model_)
      throw Error("decode_batch: sessions of different models");
    for (size_t j = 0; j < i; ++j)
      if (sessions[j] == sessions[i]) throw Error("decode_batch: a session appears twice");
    runs.push_back({sessions[i], i, 1});
  }
  forward(sessions[0]->model_, runs, tokens.data(), tokens.size(), *sessions[0]->pool_);
}

void Session::forward(const Model& model, const std::vector<Run>& runs, const int32_t* tokens, size_t T,
                      ThreadPool& pool) {
  const auto& hp = model.hparams();
  const auto& be = model.backend();
  for (const Run& r : runs)
    if (r.session->pos_ + r.count > r.session->n_ctx_)
      throw Error("context full: " + std::to_string(r.session->pos_ + r.count) + " tokens exceed --ctx " +
                  std::to_string(r.session->n_ctx_));
  for (size_t t = 0; t < T; ++t)
    if (tokens[t] < 0 || size_t(tokens[t]) >= hp.n_vocab)
      throw Error("token id " + std::to_string(tokens[t]) + " out of vocabulary");

  const size_t D = hp.n_embd, F = hp.n_ff, hd = hp.head_dim, R = runs.size();
  const size_t q_dim = hp.n_head * hd, kv_dim = hp.n_head_kv * hd;
  const bool aq = hp.bitlinear;
  // Scratch grows to the largest batch seen and is reused: decoding allocates nothing per token.
  Scratch& sc = runs[0].session->scratch_;
  for (auto [buf, n] : {std::pair{&sc.x, T * D},
                        {&sc.xn, T * D},
                        {&sc.q, T * q_dim},
                        {&sc.k, T * kv_dim},
                        {&sc.v, T * kv_dim},
                        {&sc.att, T * q_dim},
                        {&sc.o, T * D},
                        {&sc.g, T * F},
                        {&sc.u, T * F},
                        {&sc.head_in, R * D},
                        {&sc.head_out, R * hp.n_vocab}})
    if (buf->size() < n) buf->resize(n);
  if (sc.positions.size() < T) sc.positions.resize(T);
  auto &x = sc.x, &xn = sc.xn, &q = sc.q, &k = sc.k, &v = sc.v, &att = sc.att, &o = sc.o, &g = sc.g,
       &u = sc.u;
  auto& positions = sc.positions;
  for (const Run& r : runs)
    for (size_t t = 0; t < r.count; ++t) positions[r.first + t] = int32_t(r.session->pos_ + t);

  be.get_rows(model.token_embd(), tokens, T, x.data());
  for (size_t l = 0; l < hp.n_layer; ++l) {
    const auto& L = model.layers()[l];
    be.rms_norm(x.data(), L.attn_norm.data(), xn.data(), T, D, hp.norm_eps);
    const WeightView* qkv[] = {&L.wq, &L.wk, &L.wv};
    float* const qkv_out[] = {q.data(), k.data(), v.data()};
    be.matmul_multi(qkv, qkv_out, 3, xn.data(), T, aq, pool);
    be.rope(q.data(), T, hp.n_head, hd, positions.data(), hp.rope_theta, hp.rope_style);
    be.rope(k.data(), T, hp.n_head_kv, hd, positions.data(), hp.rope_theta, hp.rope_style);
    for (const Run& r : runs) {
      Session& s = *r.session;
      uint8_t* kc = s.k_cache_.data() + l * s.n_ctx_ * s.k_row_bytes_;
      uint8_t* vc = s.v_cache_.data() + l * s.n_ctx_ * s.v_row_bytes_;
      for (size_t t = 0; t < r.count; ++t) {
        quantize_row(s.cache_.k, &k[(r.first + t) * kv_dim], kc + (s.pos_ + t) * s.k_row_bytes_, kv_dim);
        quantize_row(s.cache_.v, &v[(r.first + t) * kv_dim], vc + (s.pos_ + t) * s.v_row_bytes_, kv_dim);
      }
      AttentionArgs args;
      args.q = q.data() + r.first * q_dim;
      args.k_cache = kc;
      args.v_cache = vc;
      args.out = att.data() + r.first * q_dim;
      args.n_tokens = r.count;
      args.pos0 = s.pos_;
      args.n_head = hp.n_head;
      args.n_head_kv = hp.n_head_kv;
      args.head_dim = hd;
      args.scale = 1.0f / std::sqrt(float(hd));
      args.k_type = s.cache_.k;
      args.v_type = s.cache_.v;
      be.attention(args, pool);
    }
    if (hp.bitlinear) be.rms_norm(att.data(), L.attn_sub_norm.data(), att.data(), T, q_dim, hp.norm_eps);
    be.matmul(L.wo, att.data(), o.data(), T, aq, pool);
    be.add(x.data(), o.data(), T * D);

    be.rms_norm(x.data(), L.ffn_norm.data(), xn.data(), T, D, hp.norm_eps);
    const WeightView* gate_up[] = {&L.w_gate, &L.w_up};
    float* const gate_up_out[] = {g.data(), u.data()};
    be.matmul_multi(gate_up, gate_up_out, 2, xn.data(), T, aq, pool);
    be.gated_activation(g.data(), u.data(), g.data(), T * F, hp.ffn_act);
    if (hp.bitlinear) be.rms_norm(g.data(), L.ffn_sub_norm.data(), g.data(), T, F, hp.norm_eps);
    be.matmul(L.w_down, g.data(), o.data(), T, aq, pool);
    be.add(x.data(), o.data(), T * D);
  }
  // Each run's last token feeds the LM head, a plain linear layer even in BitNet (activations not quantized).
  for (size_t i = 0; i < R; ++i)
    std::copy_n(x.begin() + long((runs[i].first + runs[i].count - 1) * D), D,
                sc.head_in.begin() + long(i * D));
  be.rms_norm(sc.head_in.data(), model.output_norm().data(), xn.data(), R, D, hp.norm_eps);
  if (R == 1) {
    be.matmul(model.output(), xn.data(), runs[0].session->logits_.data(), 1, false, pool);
  } else {
    be.matmul(model.output(), xn.data(), sc.head_out.data(), R, false, pool);
    for (size_t i = 0; i < R; ++i)
      std::copy_n(sc.head_out.begin() + long(i * hp.n_vocab), hp.n_vocab, runs[i].session->logits_.begin());
  }
  for (const Run& r : runs) r.session->pos_ += r.count;
}

}  // namespace tern
