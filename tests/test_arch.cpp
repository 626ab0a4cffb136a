// The architecture descriptors: what llama.cpp and bitnet.cpp do with each name, and how tern reads files
// written before it followed them.
#include <gtest/gtest.h>

#include <set>

#include "tern/arch.h"
#include "tern/synthetic.h"

namespace tern {
namespace {

TEST(Arch, PeersConventionsPerName) {
  const auto* llama = find_arch("llama");
  const auto* bitnet = find_arch("bitnet");
  ASSERT_TRUE(llama && bitnet && find_arch("bitnet-b1.58") && find_arch("bitnet-25"));
  EXPECT_EQ(llama->gguf_rope, RopeStyle::Interleaved);  // llama.cpp's converter permutes llama q/k rows
  EXPECT_FALSE(llama->bitlinear);
  for (const char* name : {"bitnet", "bitnet-b1.58", "bitnet-25"}) {
    EXPECT_EQ(find_arch(name)->gguf_rope, RopeStyle::RotateHalf) << name;  // NEOX on Hugging Face rows
    EXPECT_TRUE(find_arch(name)->bitlinear) << name;
  }
  EXPECT_EQ(bitnet->ffn_act, Activation::Silu);
  EXPECT_EQ(find_arch("bitnet-b1.58")->ffn_act, Activation::Relu2);
  EXPECT_EQ(find_arch("bitnet-25")->ffn_act, Activation::Relu2);
  EXPECT_EQ(find_arch("gpt2"), nullptr);
  EXPECT_STREQ(arch_for_graph(true, Activation::Relu2).name, "bitnet-b1.58");
  EXPECT_STREQ(arch_for_graph(true, Activation::Silu).name, "bitnet");
  EXPECT_STREQ(arch_for_graph(false, Activation::Silu).name, "llama");
  EXPECT_EQ(synthetic_preset("bitnet-2b4t").arch, "bitnet-b1.58");
  EXPECT_EQ(synthetic_preset("bitnet-large").arch, "bitnet");
}

TEST(Arch, HuggingFaceNames) {
  EXPECT_STREQ(arch_from_hf("BitNetForCausalLM", "bitnet", Activation::Relu2)->name, "bitnet-b1.58");
  EXPECT_STREQ(arch_from_hf("BitnetForCausalLM", "", Activation::Silu)->name, "bitnet");
  EXPECT_STREQ(arch_from_hf("LlamaForCausalLM", "llama", Activation::Silu)->name, "llama");
  EXPECT_EQ(arch_from_hf("GPT2LMHeadModel", "gpt2", Activation::Silu), nullptr);
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.12.self_attn.q_proj.weight"), "blk.12.attn_q.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.0.mlp.ffn_sub_norm.weight"), "blk.0.ffn_sub_norm.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.embed_tokens.weight"), "token_embd.weight");
  for (const char* odd : {"model.layers.x.self_attn.q_proj.weight", "model.layers..self_attn.q_proj.weight",
                          "model.layers.99999999999999999999.self_attn.q_proj.weight", "model.layers.1"})
    EXPECT_EQ(hf_to_gguf_tensor_name(odd), "") << odd;
}

// Every role's name in every scheme parses back to the same role and layer, and the schemes never collide.
TEST(Arch, TensorNamesRoundTripInEveryScheme) {
  for (NameScheme scheme : {NameScheme::Gguf, NameScheme::HuggingFace, NameScheme::Onnx}) {
    std::set<std::string> seen;
    for (const auto& n : tensor_namings())
      for (int layer : n.per_layer ? std::vector<int>{0, 7, 31, 123456} : std::vector<int>{-1}) {
        const std::string name = tensor_name({n.role, layer}, scheme);
        EXPECT_TRUE(seen.insert(name).second) << name;
        const auto id = parse_tensor_name(name, scheme);
        ASSERT_TRUE(id) << name;
        EXPECT_EQ(*id, (TensorId{n.role, layer})) << name;
      }
  }
  EXPECT_TRUE(is_projection_tensor("blk.3.ffn_down.weight"));
  EXPECT_FALSE(is_projection_tensor("blk.3.ffn_norm.weight"));
  EXPECT_TRUE(is_norm_tensor("output_norm.weight"));
  EXPECT_TRUE(is_norm_tensor("blk.0.attn_sub_norm.weight"));
  EXPECT_FALSE(is_norm_tensor("token_embd.weight"));
  // Not layer 1, not a layer at all, or a name from another scheme.
  for (const char* odd :
       {"blk.01.attn_q.weight", "blk.-1.attn_q.weight", "blk.1234567.attn_q.weight", "blk..attn_q.weight",
        "model.layers.0.self_attn.q_proj.weight", "xblk.0.attn_q.weight"})
    EXPECT_FALSE(parse_tensor_name(odd)) << odd;
}

TEST(Arch, RowOrderOfNewAndOlderFiles) {
  ModelFile f;
  f.meta["general.architecture"] = MetaValue::str("bitnet");
  const auto& bitnet = *find_arch("bitnet");
  EXPECT_EQ(file_rope_style(f, bitnet), RopeStyle::RotateHalf);  // bitnet.cpp / llama.cpp files
  f.meta["tern.converter"] = MetaValue::str("tern export 0.1.0");
  EXPECT_EQ(file_rope_style(f, bitnet), RopeStyle::Interleaved);  // tern export before it followed the peers
  f.meta["tern.rope_layout"] = MetaValue::str("rotate_half");
  EXPECT_EQ(file_rope_style(f, bitnet), RopeStyle::RotateHalf);  // tern export now
  f.meta["tern.ffn_activation"] = MetaValue::str("relu2");       // tern synth before bitnet-b1.58
  EXPECT_EQ(file_ffn_activation(f, bitnet), Activation::Relu2);
}

TEST(Arch, RenameMovesTheHyperParameterKeys) {
  ModelFile f;
  f.meta["general.architecture"] = MetaValue::str("bitnet");
  f.meta["bitnet.block_count"] = MetaValue::u32(30);
  f.meta["bitnetx.other"] = MetaValue::u32(1);
  rename_arch(f, *find_arch("bitnet-b1.58"));
  EXPECT_EQ(f.get_string("general.architecture"), "bitnet-b1.58");
  EXPECT_EQ(f.get_int("bitnet-b1.58.block_count", 0), 30);
  EXPECT_FALSE(f.get("bitnet.block_count"));
  EXPECT_TRUE(f.get("bitnetx.other"));
}

}  // namespace
}  // namespace tern
