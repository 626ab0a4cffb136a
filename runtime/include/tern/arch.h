#pragma once
// One descriptor per model architecture: the only place that knows an architecture's names (GGUF, Hugging
// Face), the graph the peers (llama.cpp, bitnet.cpp) run for it, how its GGUF files order q/k rows, and the
// Hugging Face <-> GGUF tensor names. Models, format plugins, synth and the tools ask it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/model_file.h"
#include "tern/plugin/backend_api.h"

namespace tern {

struct ArchDescriptor {
  const char* name;           // general.architecture and the prefix of its hyper-parameter keys
  bool bitlinear;             // BitNet: sub-norms, int8 activations in every projection
  Activation ffn_act;         // the gated FFN's activation in the peers' graph for this name
  RopeStyle gguf_rope;        // how GGUF files of this name order q/k rows (and how the peers rotate them)
  const char* described_as;   // which model family the peers' graph for this name is
  const char* hf_class;       // config.json "architectures" entry tern writes
  const char* hf_model_type;  // config.json "model_type"
};

// One hyper-parameter: its GGUF key (after "<arch>.") and its Hugging Face config.json key.
struct HparamNaming {
  const char* gguf;
  const char* hf;
  bool real;                           // a float (rope base, epsilon), else a positive integer
  bool required;                       // config.json must have it
  double fallback;                     // when not required and absent (0: leave the GGUF key out)
  const char* default_from = nullptr;  // absent: take this GGUF key's value instead (head_count_kv)
};
const std::vector<HparamNaming>& hparam_namings();

// Every architecture tern reads, in the order `supported_arch_names` lists them.
const std::vector<ArchDescriptor>& architectures();
const ArchDescriptor* find_arch(std::string_view gguf_name);
std::string supported_arch_names();  // "llama, bitnet, ..."

// The architecture a file should be written as so that llama.cpp and bitnet.cpp run the graph that the model
// needs: llama, bitnet (SiLU, the 1bitLLM graph) or bitnet-b1.58 (relu², the 2B4T graph).
const ArchDescriptor& arch_for_graph(bool bitlinear, Activation act);

// ---- tensors: the one table of tensor names ----
// Every tensor a decoder model has, by role. The GGUF, Hugging Face and ONNX names below are the only place
// the project spells tensor names; everything else builds and parses them through these functions.
enum class TensorRole : uint8_t {
  TokenEmbd,
  Output,
  OutputNorm,  // model-level
  AttnNorm,
  AttnQ,
  AttnK,
  AttnV,
  AttnOutput,
  AttnSubNorm,  // per layer
  FfnNorm,
  FfnGate,
  FfnUp,
  FfnDown,
  FfnSubNorm,
};
enum class NameScheme : uint8_t { Gguf, HuggingFace, Onnx };

struct TensorNaming {
  TensorRole role;
  bool per_layer;
  bool projection;      // a linear layer BitNet keeps ternary
  bool norm;            // an RMSNorm gain
  bool bitlinear_only;  // present only in BitLinear models (the sub-norms)
  const char* gguf;     // "{}" stands for the layer index
  const char* hf;
  const char* onnx;  // the initializer name in the ONNX graphs tern writes
};
const std::vector<TensorNaming>& tensor_namings();
const TensorNaming& tensor_naming(TensorRole role);

struct TensorId {
  TensorRole role;
  int layer = -1;  // -1 for model-level tensors
  bool operator==(const TensorId&) const = default;
};
std::string tensor_name(TensorId id, NameScheme scheme = NameScheme::Gguf);
std::string tensor_name(TensorRole role, size_t layer, NameScheme scheme = NameScheme::Gguf);
// The role and layer a name stands for in `scheme`; nullopt for names that are not model tensors.
std::optional<TensorId> parse_tensor_name(std::string_view name, NameScheme scheme = NameScheme::Gguf);

// GGUF names of attn_q/k/v/output and ffn_gate/up/down weights: the layers ternary models keep in {-1,0,1}.
bool is_projection_tensor(std::string_view gguf_name);
// Any RMSNorm gain (attn_norm, ffn_norm, the BitNet sub-norms, output_norm), by GGUF name.
bool is_norm_tensor(std::string_view gguf_name);

// A Hugging Face config.json for `f` (its architecture, hyper-parameters, tied embeddings, BOS / EOS):
// `bitnet_mode` is the quantization_mode of BitLinear models (offline / online), `torch_dtype` as
// transformers names it (bfloat16, float16, float32).
std::string hf_config_json(const ModelFile& f, const std::string& bitnet_mode,
                           const std::string& torch_dtype);

// Hugging Face config.json -> descriptor, or nullptr when the architecture is not one tern runs.
const ArchDescriptor* arch_from_hf(const std::string& hf_class, const std::string& model_type,
                                   Activation act);
// Hugging Face parameter name -> GGUF tensor name ("" when not a tensor the runtime uses).
std::string hf_to_gguf_tensor_name(const std::string& hf);

// The effective activation and q/k row order of a file: the descriptor's, unless the file carries tern's
// older private keys (tern.ffn_activation, tern.rope_layout), or is a BitNet GGUF that tern export wrote
// before it followed the peers' row order (tern.converter set, tern.rope_layout absent: rows interleaved).
Activation file_ffn_activation(const ModelFile& f, const ArchDescriptor& arch);
RopeStyle file_rope_style(const ModelFile& f, const ArchDescriptor& arch);
// <arch>.vocab_size, or the token embedding's rows when the key is absent (llama.cpp's GGUFs leave it out);
// 0 when there is neither. Not range-checked: callers that need a bound check it.
int64_t file_vocab_size(const ModelFile& f, const ArchDescriptor& arch);
const char* rope_style_name(RopeStyle s);  // "interleaved" / "rotate_half", as tern.rope_layout spells them

// Renames `f` to `to`: general.architecture and every "<old>." hyper-parameter key.
void rename_arch(ModelFile& f, const ArchDescriptor& to);

}  // namespace tern
