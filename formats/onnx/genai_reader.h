#pragma once
#include <filesystem>
#include <string>

#include "onnx_graph.h"
#include "tern/model_file.h"

namespace tern::onnx {

// Whether the graph uses ONNX Runtime's GroupQueryAttention, as GenAI's model builder's decoders do.
bool is_genai_layout(const Graph& g);
// Recognises such a decoder (llama family: RMS norms, GQA with RoPE, SiLU-gated MLP; float MatMul or 4-bit
// MatMulNBits weights) and fills `mf` with its tensors in tern's names and its hyper-parameters from the
// graph, genai_config.json and config.json if present. Anything else is refused naming the node or
// initializer.
void read_genai(const Graph& g, const std::filesystem::path& dir, const std::string& path, ModelFile& mf);

}  // namespace tern::onnx
