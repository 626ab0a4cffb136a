#pragma once
// Synthetic models for benchmarks: real architecture dimensions, random weights. Linear layers are ternary
// (about 1/3 zeros) times a per-tensor scale, stored in any weight type the runtime loads; norms are 1.
#include <cstdint>
#include <string>
#include <vector>

#include "tern/model_file.h"

namespace tern {

struct SyntheticSpec {
  std::string name;
  std::string arch = "bitnet";  // an architecture of arch.h: bitnet (SiLU), bitnet-b1.58 (relu²) or llama
  size_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0, n_ctx = 4096;
  float rope_theta = 500000.0f;
  bool tied_embeddings = true;
};

// "bitnet-2b4t" (BitNet b1.58 2B4T), "bitnet-large" (bitnet_b1_58-large), "tiny" (for tests).
SyntheticSpec synthetic_preset(const std::string& name);
std::vector<std::string> synthetic_preset_names();

// Projection weights in `weight_type`, embeddings in `embd_type` (F16 as in bitnet.cpp's 2B4T GGUF).
// Deterministic for a given seed. Throws tern::Error if a dimension does not fit the type's blocks.
ModelFile make_synthetic_model(const SyntheticSpec& spec, DType weight_type, DType embd_type, uint64_t seed);

}  // namespace tern
