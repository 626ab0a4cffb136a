#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tern/model_file.h"

namespace tern {

// Token types as in GGUF tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6
};

struct Vocab {
  enum class Kind { Spm, Bpe };
  Kind kind = Kind::Spm;
  std::vector<std::string> tokens;
  std::vector<float> scores;  // SPM piece scores
  std::vector<TokenType> types;
  std::vector<std::string> merges;  // BPE: "left right", highest priority first
  std::string pre = "default";      // BPE pre-tokenizer: "default" (GPT-2), "llama-bpe" (Llama 3), "smollm"
  int32_t bos = -1, eos = -1, unk = -1, pad = -1;
  bool add_bos = false;
  bool add_space_prefix = true;  // SPM: prepend "▁" to the text

  // Reads tokenizer.ggml.* keys; throws tern::Error if there is no usable vocabulary.
  static Vocab from_metadata(const ModelFile& file);
  void to_metadata(std::map<std::string, MetaValue>& meta) const;
};

// Writes `vocab` as the Hugging Face tokenizer files a checkpoint directory carries, into `dir` (which must
// exist): tokenizer.model (SentencePiece protobuf) for SPM vocabularies, tokenizer.json for BPE ones, and
// tokenizer_config.json (BOS / EOS, add_bos_token, `chat_template` when not empty). Both load back into the
// same Vocab, and the PyPI sentencepiece / tokenizers packages read them. Returns the file names written.
std::vector<std::string> write_tokenizer_files(const Vocab& vocab, const std::filesystem::path& dir,
                                               const std::string& chat_template = "");

class Tokenizer {
 public:
  explicit Tokenizer(Vocab vocab);
  // tokenizer.model (SentencePiece protobuf), tokenizer.json (Hugging Face BPE) or a GGUF with a vocabulary.
  static std::unique_ptr<Tokenizer> from_file(const std::filesystem::path& path);
  static std::unique_ptr<Tokenizer> from_model_file(const ModelFile& file);

  // Control and user-defined tokens written literally in `text` (e.g. "<|im_start|>") map to their ids.
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const;
  std::string token_to_piece(int32_t id) const;  // the bytes this token stands for ("" for control tokens)
  std::string decode(const std::vector<int32_t>& ids) const;

  const Vocab& vocab() const { return vocab_; }
  size_t n_vocab() const { return vocab_.tokens.size(); }
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  bool is_end_of_generation(int32_t id) const;

 private:
  void encode_fragment(std::string_view text, bool first, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe_word(const std::string& word, std::vector<int32_t>& out) const;

  Vocab vocab_;
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::unordered_map<std::string, int32_t> merge_rank_;
  std::vector<int32_t> specials_;      // control/user-defined tokens matched literally, longest first
  int32_t byte_tokens_[256];           // SPM <0xXX> tokens
  bool special_first_byte_[256] = {};  // bytes a special token starts with: elsewhere none can match
};

// Pre-tokenizers and byte-level mapping, exposed for tests.
std::vector<std::string> pretokenize(std::string_view pre, std::string_view text);
std::string bytes_to_unicode(std::string_view bytes);    // GPT-2 byte -> printable code point mapping
std::string unicode_to_bytes(std::string_view encoded);  // inverse
// The length of the longest prefix of `text` that does not end inside a UTF-8 sequence: a token's piece may
// carry part of a character (byte tokens), and streamed text should hold that part back until it is whole.
size_t complete_utf8_prefix(std::string_view text);

}  // namespace tern
