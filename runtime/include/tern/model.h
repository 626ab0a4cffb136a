#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tern/model_file.h"
#include "tern/plugin/backend_api.h"
#include "tern/thread_pool.h"

namespace tern {

// Decoder-only transformer hyper-parameters, read from GGUF-style metadata (`<arch>.*` keys).
struct HParams {
  std::string arch;  // "llama" or "bitnet"
  size_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, head_dim = 0;
  size_t n_ctx_train = 0;
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::Interleaved;
  Activation ffn_act = Activation::Silu;
  bool bitlinear = false;  // BitNet: sub-norms and int8 activation quantization in every projection

  static HParams from_metadata(const ModelFile& file);
};

class WeightMemory;

// Where a model's matrices live while it runs. Memory: copied into anonymous memory on huge pages at load,
// for generation's streaming reads (faster than the 4 KB pages of a file mapping; costs a copy at load and
// keeps processes from sharing the page cache's copy). Mapped: read in place from the file's mapping.
enum class WeightPlacement { Mapped, Memory };
// Whether the backend may rewrite weights once at load into a layout it runs faster (Backend::prepare; the
// CPU plugins run TQ1_0 from a TQ2_0 copy, 22% more bytes). File: every weight as the file stores it.
// A rewritten weight's file pages are dropped from memory, and it is not copied for WeightPlacement::Memory.
enum class WeightLayout { Backend, File };

class Model {
 public:
  // Validates every tensor's presence, dtype and shape against the hyper-parameters; throws tern::Error.
  Model(std::unique_ptr<ModelFile> file, std::shared_ptr<Backend> backend,
        WeightPlacement placement = WeightPlacement::Mapped, WeightLayout layout = WeightLayout::Backend);
  ~Model();

  const HParams& hparams() const { return hp_; }
  const ModelFile& file() const { return *file_; }
  const Backend& backend() const { return *backend_; }
  uint64_t weight_bytes() const;

  struct Layer {
    std::vector<float> attn_norm, ffn_norm, attn_sub_norm, ffn_sub_norm;
    WeightView wq, wk, wv, wo, w_gate, w_up, w_down;
  };
  const std::vector<Layer>& layers() const { return layers_; }
  const WeightView& token_embd() const { return token_embd_; }
  const WeightView& output() const { return output_; }
  const std::vector<float>& output_norm() const { return output_norm_; }

 private:
  void place_weights_in_memory();
  std::unique_ptr<ModelFile> file_;
  std::shared_ptr<Backend> backend_;
  HParams hp_;
  std::vector<Layer> layers_;
  WeightView token_embd_, output_;
  std::vector<float> output_norm_;
  std::unique_ptr<WeightMemory> weight_memory_;  // WeightPlacement::Memory's copies
};

// The types a session holds its cached keys and values in (llama.cpp's -ctk / -ctv). F16 halves the bytes
// attention reads per token at a small cost in accuracy; Q8_0 (head sizes that are multiples of 32) halves
// them again.
struct KvCacheTypes {
  DType k = DType::F16;
  DType v = DType::F16;
};
// "f16", "q8_0": the spelling of --cache-type-k's values; all of kv_cache_types() so spelled ("f32, f16,
// q8_0").
std::string kv_cache_type_name(DType type);
std::string kv_cache_type_names();
bool is_kv_cache_type(DType type);
// Throws tern::Error naming `option` unless `type` is one of kv_cache_types() that the model's head size
// allows.
void check_kv_cache_type(const HParams& hp, DType type, const std::string& option);

// One generation stream: KV cache plus scratch buffers.
class Session {
 public:
  Session(const Model& model, size_t n_ctx, size_t n_threads, KvCacheTypes cache = {});
  // A session that runs on a pool it shares with others (a server's slots): no threads of its own.
  Session(const Model& model, size_t n_ctx, ThreadPool& shared_pool, KvCacheTypes cache = {});
  // Appends `tokens` at the current position and returns logits for the last of them ([n_vocab]).
  const std::vector<float>& eval(const std::vector<int32_t>& tokens);
  // Continuous batching: appends tokens[i] to sessions[i] (distinct sessions of one model) in one forward
  // pass, so every projection reads its weights once for all of them; then sessions[i]->logits() holds
  // each one's next-token logits. Runs on sessions[0]'s pool.
  static void decode_batch(const std::vector<Session*>& sessions, const std::vector<int32_t>& tokens);
  const std::vector<float>& logits() const { return logits_; }
  size_t position() const { return pos_; }
  size_t n_ctx() const { return n_ctx_; }
  void reset() { pos_ = 0; }

 private:
  // The tokens of one session within a forward pass: tokens [first, first + count) of the batch.
  struct Run {
    Session* session;
    size_t first, count;
  };
  static void forward(const Model& model, const std::vector<Run>& runs, const int32_t* tokens, size_t T,
                      ThreadPool& pool);
  void allocate();

  const Model& model_;
  size_t n_ctx_;
  size_t pos_ = 0;
  std::unique_ptr<ThreadPool> own_pool_;
  ThreadPool* pool_;
  KvCacheTypes cache_;
  size_t k_row_bytes_ = 0, v_row_bytes_ = 0;  // one position's n_head_kv * head_dim keys / values
  std::vector<uint8_t> k_cache_, v_cache_;    // [layer][pos] rows of cache_.k / cache_.v
  std::vector<float> logits_;
  struct Scratch {
    std::vector<float> x, xn, q, k, v, att, o, g, u, head_in, head_out;
    std::vector<int32_t> positions;
  } scratch_;
};

}  // namespace tern
