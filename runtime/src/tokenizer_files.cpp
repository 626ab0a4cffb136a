// Loading vocabularies from tokenizer files: SentencePiece tokenizer.model (protobuf), Hugging Face
// tokenizer.json (BPE), or any model file a format plugin can read.
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "tern/error.h"
#include "tern/protobuf.h"
#include "tern/registry.h"
#include "tern/tokenizer.h"

namespace fs = std::filesystem;

namespace tern {
namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(p.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Vocab read_sentencepiece(const fs::path& p) {
  const std::string data = read_file(p);
  const std::string path = p.string();
  Vocab v;
  v.kind = Vocab::Kind::Spm;
  v.add_bos = true;
  int64_t unk = 0, bos = 1, eos = 2, pad = -1;
  ProtoReader top(data, path + ": not a valid SentencePiece model (corrupt protobuf)");
  while (!top.done()) {
    const uint64_t key = top.varint();
    const uint32_t field = uint32_t(key >> 3), wire = uint32_t(key & 7);
    if (field == 1 && wire == 2) {  // SentencePiece piece
      ProtoReader m(top.bytes(), top.what());
      std::string piece;
      float score = 0;
      int type = 1;
      while (!m.done()) {
        const uint64_t k = m.varint();
        const uint32_t f = uint32_t(k >> 3), w = uint32_t(k & 7);
        if (f == 1 && w == 2)
          piece = std::string(m.bytes());
        else if (f == 2 && w == 5) {
          const uint32_t bits = m.fixed32();
          std::memcpy(&score, &bits, 4);
        } else if (f == 3 && w == 0)
          type = int(m.varint());
        else
          m.skip(w);
      }
      v.tokens.push_back(piece);
      v.scores.push_back(score);
      v.types.push_back(TokenType(type));
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader m(top.bytes(), top.what());
      while (!m.done()) {
        const uint64_t k = m.varint();
        const uint32_t f = uint32_t(k >> 3), w = uint32_t(k & 7);
        if (w == 0 && (f == 40 || f == 41 || f == 42 || f == 43)) {
          const auto val = int64_t(int32_t(uint32_t(m.varint())));
          (f == 40 ? unk : f == 41 ? bos : f == 42 ? eos : pad) = val;
        } else {
          m.skip(w);
        }
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec
      ProtoReader m(top.bytes(), top.what());
      while (!m.done()) {
        const uint64_t k = m.varint();
        const uint32_t f = uint32_t(k >> 3), w = uint32_t(k & 7);
        if (f == 3 && w == 0)
          v.add_space_prefix = m.varint() != 0;
        else
          m.skip(w);
      }
    } else {
      top.skip(wire);
    }
  }
  if (v.tokens.empty()) throw Error(path + ": SentencePiece model has no pieces");
  const auto n = int64_t(v.tokens.size());
  v.unk = unk < n ? int32_t(unk) : -1;
  v.bos = bos < n ? int32_t(bos) : -1;
  v.eos = eos < n ? int32_t(eos) : -1;
  v.pad = pad < n ? int32_t(pad) : -1;
  return v;
}

// A tokenizer.json that is a SentencePiece vocabulary in Hugging Face's form (Llama 2, TinyLlama, Mistral):
// U+2581 for spaces in the normalizer or a Metaspace pre-tokenizer, byte fallback. Read as GPT-2 byte-level
// BPE it would tokenize every space and every byte wrongly.
bool byte_fallback(const nlohmann::json& model) {
  return model.contains("byte_fallback") && model["byte_fallback"].is_boolean() &&
         model["byte_fallback"].get<bool>();
}

bool spm_style(const nlohmann::json& j) {
  if (byte_fallback(j.at("model"))) return true;
  for (const char* part : {"normalizer", "pre_tokenizer", "decoder"})
    if (j.contains(part)) {
      const std::string d = j[part].dump();
      if (d.find("Metaspace") != std::string::npos || d.find("\u2581") != std::string::npos ||
          d.find("\xe2\x96\x81") != std::string::npos)
        return true;
    }
  return false;
}

// The SentencePiece form of such a vocabulary: a piece's score is minus the rank of the first merge that
// makes it, so merging the best-scoring pair (SentencePiece's rule, tern's SPM tokenizer) applies the merges
// in their listed order. <0xXX> pieces are bytes when the model falls back to them.
Vocab spm_from_merges(Vocab v, const nlohmann::json& j, const std::string& path) {
  std::unordered_map<std::string, size_t> id;
  for (size_t i = 0; i < v.tokens.size(); ++i) id.emplace(v.tokens[i], i);
  std::vector<bool> scored(v.tokens.size());
  for (size_t rank = 0; rank < v.merges.size(); ++rank) {
    const std::string& m = v.merges[rank];
    const size_t sp = m.find(' ');
    if (sp == std::string::npos)
      throw Error(path + ": merge '" + m + "' is not two tokens separated by a space");
    auto it = id.find(m.substr(0, sp) + m.substr(sp + 1));
    if (it == id.end() || scored[it->second]) continue;
    v.scores[it->second] = -float(rank);
    scored[it->second] = true;
  }
  const float unreachable = -float(v.merges.size()) - 1.0f;
  const auto& model = j.at("model");
  const bool bytes = byte_fallback(model);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (!scored[i]) v.scores[i] = unreachable;
    const std::string& t = v.tokens[i];
    if (bytes && v.types[i] == TokenType::Normal && t.size() == 6 && t.rfind("<0x", 0) == 0 && t[5] == '>')
      v.types[i] = TokenType::Byte;
  }
  v.merges.clear();
  v.kind = Vocab::Kind::Spm;
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    auto it = id.find(model["unk_token"].get<std::string>());
    if (it != id.end()) {
      v.unk = int32_t(it->second);
      if (v.types[it->second] == TokenType::Normal) v.types[it->second] = TokenType::Unknown;
    }
  }
  const std::string norm = j.contains("normalizer") ? j["normalizer"].dump() : "";
  const std::string pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"].dump() : "";
  v.add_space_prefix =
      norm.find("Prepend") != std::string::npos ||
      (pre.find("Metaspace") != std::string::npos && pre.find("\"never\"") == std::string::npos &&
       pre.find("\"add_prefix_space\":false") == std::string::npos);
  return v;
}

Vocab read_tokenizer_json(const fs::path& p) {
  using nlohmann::json;
  const std::string path = p.string();
  json j;
  try {
    j = json::parse(read_file(p));
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  Vocab v;
  v.kind = Vocab::Kind::Bpe;
  bool spm = false;
  try {
    const auto& model = j.at("model");
    if (model.value("type", "") != "BPE")
      throw Error(path + ": unsupported tokenizer model type '" + model.value("type", "") +
                  "' (supported: BPE)");
    const auto& vocab = model.at("vocab");
    if (!vocab.is_object()) throw Error(path + ": model.vocab is not an object");
    // Ids are read as signed and bounded so that -5 or 10^12 is an error, not a wrapped or huge allocation.
    constexpr int64_t kMaxTokens = int64_t(1) << 24;
    auto token_id = [&](const json& x) {
      // Integers only: nlohmann's conversion of a float such as 5e101 to an integer is undefined behaviour.
      if (!x.is_number_integer()) throw Error(path + ": token id " + x.dump() + " is not an integer");
      const int64_t id =
          x.is_number_unsigned() && x.get<uint64_t>() > uint64_t(kMaxTokens) ? kMaxTokens : x.get<int64_t>();
      if (id < 0 || id >= kMaxTokens)
        throw Error(path + ": token id " + std::to_string(id) + " out of range (0 to " +
                    std::to_string(kMaxTokens - 1) + ")");
      return size_t(id);
    };
    size_t n = vocab.size();
    for (const auto& at : j.value("added_tokens", json::array())) n = std::max(n, token_id(at.at("id")) + 1);
    v.tokens.assign(n, "");
    v.types.assign(n, TokenType::Unused);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const size_t id = token_id(it.value());
      if (id >= n) throw Error(path + ": token id " + std::to_string(id) + " out of range");
      v.tokens[id] = it.key();
      v.types[id] = TokenType::Normal;
    }
    for (const auto& at : j.value("added_tokens", json::array())) {
      const size_t id = token_id(at.at("id"));
      v.tokens[id] = at.at("content").get<std::string>();
      v.types[id] = at.value("special", false) ? TokenType::Control : TokenType::UserDefined;
    }
    for (const auto& m : model.at("merges"))
      v.merges.push_back(m.is_string() ? m.get<std::string>()
                                       : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
    v.scores.assign(n, 0.0f);
    // Pre-tokenizer: recognize the Llama 3 split regex and SmolLM's digit splitting; otherwise GPT-2.
    const std::string pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"].dump() : "";
    if (pre.find("\\\\p{N}{1,3}") != std::string::npos)
      v.pre = "llama-bpe";
    else if (pre.find("\"Digits\"") != std::string::npos)
      v.pre = "smollm";
    else
      v.pre = "gpt-2";
    // Post-processor templates that start with a special token mean "add BOS".
    if (j.contains("post_processor") && j["post_processor"].dump().find("SpecialToken") != std::string::npos)
      v.add_bos = true;
    spm = spm_style(j);
  } catch (const json::exception& e) {
    throw Error(path + ": unexpected tokenizer.json structure: " + e.what());
  }
  v.add_space_prefix = false;
  auto find = [&](const std::string& s) -> int32_t {
    for (size_t i = 0; i < v.tokens.size(); ++i)
      if (v.tokens[i] == s) return int32_t(i);
    return -1;
  };
  // BOS/EOS from tokenizer_config.json next to it, else by well-known names.
  std::string bos_s, eos_s, unk_s, pad_s;
  const fs::path cfg = p.parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (fs::exists(cfg, ec)) {
    try {
      const json c = json::parse(read_file(cfg));
      auto tok = [](const json& x) {
        return x.is_string() ? x.get<std::string>() : x.is_object() ? x.value("content", "") : "";
      };
      if (c.contains("bos_token")) bos_s = tok(c["bos_token"]);
      if (c.contains("eos_token")) eos_s = tok(c["eos_token"]);
      if (c.contains("unk_token")) unk_s = tok(c["unk_token"]);
      if (c.contains("pad_token")) pad_s = tok(c["pad_token"]);
      if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean())
        v.add_bos = c["add_bos_token"].get<bool>();
    } catch (const json::exception& e) {
      throw Error(cfg.string() + ": invalid JSON: " + e.what());
    }
  }
  for (const char* s : {"<|begin_of_text|>", "<s>", "<|endoftext|>", "<|im_start|>"})
    if (bos_s.empty() && find(s) >= 0) bos_s = s;
  for (const char* s : {"<|end_of_text|>", "</s>", "<|endoftext|>", "<|im_end|>"})
    if (eos_s.empty() && find(s) >= 0) eos_s = s;
  v.bos = bos_s.empty() ? -1 : find(bos_s);
  v.eos = eos_s.empty() ? -1 : find(eos_s);
  v.unk = unk_s.empty() ? -1 : find(unk_s);
  v.pad = pad_s.empty() ? -1 : find(pad_s);
  return spm ? spm_from_merges(std::move(v), j, path) : v;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": tokenizer file not found");
  if (fs::is_directory(path, ec))
    throw Error(path.string() +
                ": is a directory; give a tokenizer file (tokenizer.json, tokenizer.model or a GGUF)");
  if (path.extension() == ".json") return std::make_unique<Tokenizer>(read_tokenizer_json(path));
  if (path.extension() == ".model") return std::make_unique<Tokenizer>(read_sentencepiece(path));
  auto mf = load_model_file(path);
  return from_model_file(*mf);
}

std::unique_ptr<Tokenizer> Tokenizer::from_model_file(const ModelFile& file) {
  return std::make_unique<Tokenizer>(Vocab::from_metadata(file));
}

}  // namespace tern
