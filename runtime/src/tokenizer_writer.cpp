// Vocabularies back to the files Hugging Face checkpoints carry: the inverse of tokenizer_files.cpp.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "tern/error.h"
#include "tern/mapped_file.h"
#include "tern/protobuf.h"
#include "tern/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern {
namespace {

bool has_byte_tokens(const Vocab& v) {
  for (auto t : v.types)
    if (t == TokenType::Byte) return true;
  return false;
}

// SentencePiece ModelProto: pieces (1), trainer_spec (2), normalizer_spec (3). tern's and llama.cpp's SPM
// tokenizers merge by score, which is SentencePiece's BPE model type.
std::string sentencepiece_model(const Vocab& v) {
  ProtoWriter top;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    ProtoWriter piece;
    piece.bytes(1, v.tokens[i]);
    piece.fixed32(2, i < v.scores.size() ? v.scores[i] : 0.0f);
    const auto type = i < v.types.size() ? v.types[i] : TokenType::Normal;
    if (type != TokenType::Normal) piece.varint(3, uint64_t(type));
    top.bytes(1, piece.str());
  }
  ProtoWriter trainer;
  trainer.varint(3, 2);  // model_type BPE
  trainer.int32(4, int32_t(v.tokens.size()));
  if (has_byte_tokens(v)) trainer.varint(35, 1);  // byte_fallback
  trainer.int32(40, v.unk);
  trainer.int32(41, v.bos);
  trainer.int32(42, v.eos);
  trainer.int32(43, v.pad);
  top.bytes(2, trainer.str());
  ProtoWriter normalizer;
  normalizer.bytes(1, "identity");
  normalizer.varint(3, v.add_space_prefix ? 1 : 0);  // add_dummy_prefix
  normalizer.varint(4, 0);                           // remove_extra_whitespaces
  normalizer.varint(5, 1);                           // escape_whitespaces
  top.bytes(3, normalizer.str());
  return top.str();
}

// Llama 3's split regex, as its tokenizer.json spells it.
constexpr const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

ordered_json byte_level(bool use_regex) {
  return {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

ordered_json pre_tokenizer(const Vocab& v) {
  if (v.pre == "llama-bpe") {
    ordered_json split = {{"type", "Split"},
                          {"pattern", {{"Regex", kLlama3Split}}},
                          {"behavior", "Isolated"},
                          {"invert", false}};
    return {{"type", "Sequence"}, {"pretokenizers", {split, byte_level(false)}}};
  }
  if (v.pre == "smollm") {
    ordered_json digits = {{"type", "Digits"}, {"individual_digits", true}};
    return {{"type", "Sequence"}, {"pretokenizers", {digits, byte_level(true)}}};
  }
  return byte_level(true);
}

// BOS before every sequence when the vocabulary adds one; otherwise `fallback`.
ordered_json post_processor(const Vocab& v, ordered_json fallback) {
  if (!v.add_bos || v.bos < 0) return fallback;
  const std::string bos = v.tokens.at(size_t(v.bos));
  auto special = [&] { return ordered_json{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}; };
  auto seq = [](const char* id, int type_id) {
    return ordered_json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  return {{"type", "TemplateProcessing"},
          {"single", {special(), seq("A", 0)}},
          {"pair", {special(), seq("A", 0), special(), seq("B", 1)}},
          {"special_tokens", {{bos, {{"id", bos}, {"ids", {v.bos}}, {"tokens", {bos}}}}}}};
}

ordered_json added_tokens(const Vocab& v) {
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const auto type = i < v.types.size() ? v.types[i] : TokenType::Normal;
    if (type == TokenType::Control || type == TokenType::UserDefined)
      added.push_back({{"id", i},
                       {"content", v.tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", type == TokenType::Control}});
  }
  return added;
}

// The "vocab" object of a tokenizer.json, token -> id in id order. Built on ordered_map's vector directly:
// its operator[] searches linearly, which made a 128k vocabulary take seconds.
ordered_json vocab_object(const Vocab& v) {
  ordered_json vocab = ordered_json::object();
  auto& entries = vocab.get_ref<ordered_json::object_t&>();
  entries.reserve(v.tokens.size());
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    auto [it, fresh] = seen.emplace(v.tokens[i], i);
    if (!fresh)
      throw Error("tokenizer: token '" + v.tokens[i] + "' is both id " + std::to_string(it->second) +
                  " and id " + std::to_string(i) + "; a Hugging Face vocab maps each token to one id");
    entries.emplace_back(v.tokens[i], i);
  }
  return vocab;
}

// Hugging Face's form of a SentencePiece BPE vocabulary, as transformers' Llama converter writes it: spaces
// become U+2581 in the normalizer, bytes fall back to <0xXX> pieces, and the merges are every split of a
// piece into two pieces, ordered by the score of the piece they make (best first): SentencePiece's merge
// order.
std::string spm_tokenizer_json(const Vocab& v) {
  // First: it refuses a duplicate token before the merges are worked out.
  ordered_json vocab = vocab_object(v);
  std::unordered_map<std::string, size_t> id;
  for (size_t i = 0; i < v.tokens.size(); ++i) id.emplace(v.tokens[i], i);
  struct Merge {
    size_t left, right;
    float score;
    size_t order;
  };
  std::vector<Merge> merges;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if ((i < v.types.size() ? v.types[i] : TokenType::Normal) != TokenType::Normal) continue;
    const std::string& t = v.tokens[i];
    const size_t first = merges.size();
    for (size_t p = 1; p < t.size(); ++p) {
      if ((static_cast<unsigned char>(t[p]) & 0xc0) == 0x80) continue;  // inside a UTF-8 sequence
      auto l = id.find(t.substr(0, p)), r = id.find(t.substr(p));
      if (l != id.end() && r != id.end())
        merges.push_back({l->second, r->second, i < v.scores.size() ? v.scores[i] : 0.0f, 0});
    }
    std::sort(merges.begin() + std::ptrdiff_t(first), merges.end(), [](const Merge& a, const Merge& b) {
      return std::tie(a.left, a.right) < std::tie(b.left, b.right);
    });
  }
  for (size_t i = 0; i < merges.size(); ++i) merges[i].order = i;
  std::sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    return a.score != b.score ? a.score > b.score : a.order < b.order;
  });
  ordered_json merge_list = ordered_json::array();
  for (const auto& m : merges) merge_list.push_back({v.tokens[m.left], v.tokens[m.right]});
  const std::string space = "\xe2\x96\x81";
  ordered_json replace = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}};
  ordered_json normalizer =
      v.add_space_prefix ? ordered_json{{"type", "Sequence"},
                                        {"normalizers", {{{"type", "Prepend"}, {"prepend", space}}, replace}}}
                         : replace;
  ordered_json decoders = {{{"type", "Replace"}, {"pattern", {{"String", space}}}, {"content", " "}},
                           {{"type", "ByteFallback"}},
                           {{"type", "Fuse"}}};
  if (v.add_space_prefix)
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  ordered_json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens(v)},
      {"normalizer", normalizer},
      {"pre_tokenizer", nullptr},
      {"post_processor", post_processor(v, nullptr)},
      {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", v.unk >= 0 ? ordered_json(v.tokens.at(size_t(v.unk))) : ordered_json(nullptr)},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", true},
        {"byte_fallback", has_byte_tokens(v)},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merge_list}}},
  };
  return j.dump(2, ' ', false, ordered_json::error_handler_t::strict);
}

std::string tokenizer_json(const Vocab& v) {
  ordered_json added = added_tokens(v), vocab = vocab_object(v), merges = ordered_json::array();
  for (const auto& m : v.merges) {
    const size_t sp = m.find(' ');
    if (sp == std::string::npos)
      throw Error("tokenizer: merge '" + m + "' is not two tokens separated by a space");
    merges.push_back({m.substr(0, sp), m.substr(sp + 1)});
  }
  const ordered_json post = post_processor(
      v, {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}});
  ordered_json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", pre_tokenizer(v)},
      {"post_processor", post},
      {"decoder",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        // Llama 3 maps a pre-token found whole in the vocabulary straight to its id.
        {"ignore_merges", v.pre == "llama-bpe"},
        {"vocab", vocab},
        {"merges", merges}}},
  };
  return j.dump(2, ' ', false, ordered_json::error_handler_t::strict);
}

}  // namespace

std::vector<std::string> write_tokenizer_files(const Vocab& v, const fs::path& dir,
                                               const std::string& chat_template) {
  // Every file's text first, so that a vocabulary they cannot hold leaves none of them written. SPM gets both
  // files, as Llama checkpoints ship them (ONNX Runtime GenAI reads the json).
  std::vector<std::pair<std::string, std::string>> files;
  if (v.kind == Vocab::Kind::Spm) files.emplace_back("tokenizer.model", sentencepiece_model(v));
  files.emplace_back("tokenizer.json",
                     v.kind == Vocab::Kind::Spm ? spm_tokenizer_json(v) : tokenizer_json(v));
  std::vector<std::string> written;
  for (const auto& [name, text] : files) {
    write_text_atomically(dir / name, text);
    written.push_back(name);
  }
  auto token = [&](int32_t id) -> ordered_json {
    return id >= 0 && size_t(id) < v.tokens.size() ? ordered_json(v.tokens[size_t(id)])
                                                   : ordered_json(nullptr);
  };
  ordered_json cfg = {{"add_bos_token", v.add_bos},
                      {"add_eos_token", false},
                      {"bos_token", token(v.bos)},
                      {"eos_token", token(v.eos)}};
  if (v.unk >= 0) cfg["unk_token"] = token(v.unk);
  if (v.pad >= 0) cfg["pad_token"] = token(v.pad);
  cfg["tokenizer_class"] = v.kind == Vocab::Kind::Spm ? "LlamaTokenizer" : "PreTrainedTokenizerFast";
  if (!chat_template.empty()) cfg["chat_template"] = chat_template;
  write_text_atomically(dir / "tokenizer_config.json", cfg.dump(2) + "\n");
  written.push_back("tokenizer_config.json");
  return written;
}

}  // namespace tern
