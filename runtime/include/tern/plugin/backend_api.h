#pragma once
// The backend plugin boundary. A backend is a shared library exporting the C symbols below; the runtime
// checks tern_plugin_abi_version() and the CPU features in tern_backend_info() before calling
// tern_backend_create(), so a plugin is never asked to run code the CPU cannot execute. Bump
// kBackendAbiVersion on any change here.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "tern/dtype.h"

namespace tern {

inline constexpr uint32_t kBackendAbiVersion = 3;  // 2: matmul_multi; 3: KV cache types

// Runs fn(begin, end) over disjoint chunks of [0, n) on the runtime's thread pool and waits for all of them.
class Parallel {
 public:
  virtual ~Parallel() = default;
  virtual void for_range(size_t n, const std::function<void(size_t begin, size_t end)>& fn) const = 0;
  virtual size_t threads() const = 0;
};

enum class RopeStyle : uint32_t {
  Interleaved = 0,  // GGUF / llama.cpp "norm": dimension pairs (2i, 2i+1)
  RotateHalf = 1,   // Hugging Face / "neox": dimension pairs (i, i + head_dim/2)
};

enum class Activation : uint32_t { Silu = 0, Relu2 = 1 };

// A weight matrix of `n` rows by `k` columns (GGML ne = [k, n]) as stored in the file.
struct WeightView {
  DType type = DType::F32;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  size_t k = 0;
  size_t n = 0;
  float scale = 1.0f;  // I2_S whole-tensor scale (read once at load)
  // Backend-owned repacked copy made by Backend::prepare(); nullptr when the backend uses `data` directly.
  std::shared_ptr<const void> prepared;
};

// The KV cache: row j (one per position) holds the n_head_kv * head_dim keys (values) of position j in
// k_type (v_type), dtype_row_bytes(type, n_head_kv * head_dim) bytes per row. Types are F32, F16 or Q8_0
// (kv_cache_types()); with Q8_0 head_dim is a multiple of 32, so every head starts on a block. A backend
// computes as if each row were first dequantized exactly (dequantize_row) into floats.
struct AttentionArgs {
  const float* q = nullptr;       // [n_tokens, n_head * head_dim], RoPE applied
  const void* k_cache = nullptr;  // [n_ctx] rows of k_type
  const void* v_cache = nullptr;  // [n_ctx] rows of v_type
  float* out = nullptr;           // [n_tokens, n_head * head_dim]
  size_t n_tokens = 0;
  size_t pos0 = 0;  // position of the first query token; token t attends to [0, pos0 + t]
  size_t n_head = 0;
  size_t n_head_kv = 0;
  size_t head_dim = 0;
  float scale = 1.0f;  // usually 1/sqrt(head_dim)
  DType k_type = DType::F32;
  DType v_type = DType::F32;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual bool supports(DType weight_type) const = 0;
  // Optional one-time repacking of a weight into a backend-specific layout; sets w.prepared.
  virtual void prepare(WeightView& w) const { (void)w; }

  // y[t, :] = W x[t, :] for t < n_tokens (x: [n_tokens, k], y: [n_tokens, n]).
  // quantize_activations applies BitNet's per-token absmax int8 quantization to x first; ternary weight types
  // always use int8 activations.
  virtual void matmul(const WeightView& w, const float* x, float* y, size_t n_tokens,
                      bool quantize_activations, const Parallel& par) const = 0;
  // ys[i] = Ws[i] x for `count` weights with the same k (q/k/v, gate/up): one call lets a backend quantize
  // the activations once and run all of them as one parallel job. Same results as `count` matmul calls.
  virtual void matmul_multi(const WeightView* const* ws, float* const* ys, size_t count, const float* x,
                            size_t n_tokens, bool quantize_activations, const Parallel& par) const {
    for (size_t i = 0; i < count; ++i) matmul(*ws[i], x, ys[i], n_tokens, quantize_activations, par);
  }
  // Rows `ids` of W (e.g. token embeddings), dequantized to f32: out is [n_ids, k].
  virtual void get_rows(const WeightView& w, const int32_t* ids, size_t n_ids, float* out) const = 0;

  virtual void rms_norm(const float* x, const float* weight, float* y, size_t n_tokens, size_t dim,
                        float eps) const = 0;
  virtual void rope(float* x, size_t n_tokens, size_t n_heads, size_t head_dim, const int32_t* positions,
                    float theta, RopeStyle style) const = 0;
  virtual void attention(const AttentionArgs& args, const Parallel& par) const = 0;
  // out = act(gate) * up, elementwise over n values.
  virtual void gated_activation(const float* gate, const float* up, float* out, size_t n,
                                Activation act) const = 0;
  virtual void add(float* x, const float* y, size_t n) const = 0;
};

struct BackendInfo {
  const char* name;  // "reference", "x86-avx2", ...
  const char* description;
  int priority;                   // highest usable priority wins
  const char* requires_features;  // space-separated CPU features, e.g. "avx2 fma f16c"; "" for none
};

}  // namespace tern

// Symbols every backend plugin exports (see TERN_BACKEND_PLUGIN in backend_plugin.h).
extern "C" {
using tern_plugin_abi_version_fn = uint32_t();
using tern_plugin_kind_fn = const char*();
using tern_backend_info_fn = const tern::BackendInfo*();
using tern_backend_create_fn = tern::Backend*();
}
