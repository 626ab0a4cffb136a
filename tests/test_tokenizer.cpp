#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tern/error.h"
#include "tern/tokenizer.h"
#include "test_util.h"

using namespace tern;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// llama.cpp's test-tokenizer-0 format: inputs separated by "\n__ggml_vocab_test__\n", one output line of ids
// each.
void run_vectors(const Tokenizer& tok, const std::string& base) {
  const std::string inp = slurp(base + ".inp"), out = slurp(base + ".out");
  ASSERT_FALSE(inp.empty()) << base;
  std::vector<std::string> inputs;
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) break;
    inputs.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::istringstream lines(out);
  size_t n = 0, failures = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    ASSERT_LT(n, inputs.size());
    std::vector<int32_t> want;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) want.push_back(id);
    const auto got = tok.encode(inputs[n], false);
    if (got != want) ++failures;
    EXPECT_EQ(got, want) << "input #" << n << ": '" << inputs[n] << "'";
  }
  EXPECT_EQ(n, inputs.size());
  EXPECT_EQ(failures, 0u);
}

const std::string kVocab = test::shared_dir() + "/tokenizers/llamacpp-vocab/";

}  // namespace

TEST(TokenizerVectors, LlamaSpm) {
  auto tok = Tokenizer::from_file(kVocab + "ggml-vocab-llama-spm.gguf");
  run_vectors(*tok, kVocab + "ggml-vocab-llama-spm.gguf");
}

TEST(TokenizerVectors, Gpt2) {
  auto tok = Tokenizer::from_file(kVocab + "ggml-vocab-gpt-2.gguf");
  run_vectors(*tok, kVocab + "ggml-vocab-gpt-2.gguf");
}

TEST(TokenizerVectors, Llama3TokenizerJson) {
  auto tok = Tokenizer::from_file(test::shared_dir() + "/tokenizers/llama3/tokenizer.json");
  EXPECT_EQ(tok->vocab().pre, "llama-bpe");
  EXPECT_EQ(tok->bos(), 128000);
  run_vectors(*tok, kVocab + "ggml-vocab-llama-bpe.gguf");
}

TEST(Tokenizer, SentencePieceModelFileMatchesTinyStoriesPrompt) {
  auto tok =
      Tokenizer::from_file(test::shared_dir() + "/models/bitnet-tinystories-3m-packed/tokenizer.model");
  EXPECT_EQ(tok->n_vocab(), 512u);
  const auto ids = tok->encode("Once upon a time", true);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->decode(ids), " Once upon a time");
}

TEST(Tokenizer, VocabMetadataRoundTrip) {
  auto tok = Tokenizer::from_file(test::shared_dir() + "/tokenizers/llama3/tokenizer.json");
  ModelFile mf;
  tok->vocab().to_metadata(mf.meta);
  Tokenizer again(Vocab::from_metadata(mf));
  const std::string text = "Hello world! 12345 ünïcode\n\n  spaces";
  EXPECT_EQ(again.encode(text, true), tok->encode(text, true));
  EXPECT_EQ(again.decode(again.encode(text, false)), text);
}

TEST(Tokenizer, SpecialTokensInTextMapToTheirIds) {
  auto tok = Tokenizer::from_file(test::shared_dir() + "/tokenizers/llama3/tokenizer.json");
  const auto ids = tok->encode("<|start_header_id|>user", false);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(tok->vocab().tokens[size_t(ids[0])], "<|start_header_id|>");
}

TEST(Tokenizer, ByteLevelMappingIsReversible) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  EXPECT_EQ(unicode_to_bytes(bytes_to_unicode(all)), all);
}

TEST(Utf8, CompletePrefixHoldsBackAPartialCharacter) {
  using tern::complete_utf8_prefix;
  EXPECT_EQ(complete_utf8_prefix(""), 0u);
  EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
  EXPECT_EQ(complete_utf8_prefix("a\xc3"), 1u);      // é's first byte
  EXPECT_EQ(complete_utf8_prefix("a\xc3\xa9"), 3u);  // é whole
  EXPECT_EQ(complete_utf8_prefix("\xe6\x97"), 0u);   // two of 日's three bytes
  EXPECT_EQ(complete_utf8_prefix("\xe6\x97\xa5"), 3u);
  EXPECT_EQ(complete_utf8_prefix("x\xf0\x9f\x98"), 1u);  // three of 😀's four bytes
  EXPECT_EQ(complete_utf8_prefix("x\xf0\x9f\x98\x80"), 5u);
  EXPECT_EQ(complete_utf8_prefix("\x80\x80\x80\x80"), 4u);  // stray continuation bytes: nothing to wait for
}

// Vocabularies written as Hugging Face tokenizer files read back as the same vocabulary and tokenize the test
// vectors the same. The files stay in test_tmp/tokenizer_files/<name>/ for the PyPI readers in
// test_safetensors_export.py.
class TokenizerFilesRoundTrip : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(TokenizerFilesRoundTrip, WrittenFilesReadBackTheSame) {
  const auto [name, source] = GetParam();
  auto tok = Tokenizer::from_file(test::shared_dir() + source);
  const std::filesystem::path dir = test::tmp_dir() + "/tokenizer_files/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto files = write_tokenizer_files(tok->vocab(), dir, "{{ messages }}");
  ASSERT_EQ(files.size(), tok->vocab().kind == Vocab::Kind::Spm ? 3u : 2u);
  auto again = Tokenizer::from_file(dir / files[0]);
  const Vocab &a = tok->vocab(), &b = again->vocab();
  EXPECT_EQ(b.tokens, a.tokens);
  EXPECT_EQ(b.types, a.types);
  EXPECT_EQ(b.merges, a.merges);
  EXPECT_EQ(b.pre, a.pre);
  EXPECT_EQ(b.bos, a.bos);
  EXPECT_EQ(b.eos, a.eos);
  EXPECT_EQ(b.add_bos, a.add_bos);
  if (a.kind == Vocab::Kind::Spm) {
    EXPECT_EQ(b.scores, a.scores);
    EXPECT_EQ(b.unk, a.unk);
    EXPECT_EQ(b.add_space_prefix, a.add_space_prefix);
  }
  const std::string vectors = name == "llama3" ? "ggml-vocab-llama-bpe.gguf" : source.substr(26);
  run_vectors(*again, kVocab + vectors);
  if (a.kind == Vocab::Kind::Spm) {
    // The Hugging Face form of the same vocabulary (merges instead of scores) tokenizes the same.
    ASSERT_EQ(files[1], "tokenizer.json");
    auto from_json = Tokenizer::from_file(dir / files[1]);
    EXPECT_EQ(from_json->vocab().kind, Vocab::Kind::Spm);
    EXPECT_EQ(from_json->vocab().tokens, a.tokens);
    EXPECT_EQ(from_json->vocab().types, a.types);
    EXPECT_EQ(from_json->vocab().add_space_prefix, a.add_space_prefix);
    EXPECT_EQ(from_json->vocab().bos, a.bos);  // from tokenizer_config.json, as for BPE
    EXPECT_EQ(from_json->vocab().eos, a.eos);
    EXPECT_EQ(from_json->vocab().unk, a.unk);
    run_vectors(*from_json, kVocab + vectors);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vocabs, TokenizerFilesRoundTrip,
    ::testing::Values(
        std::make_pair(std::string("llama-spm"),
                       std::string("/tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf")),
        std::make_pair(std::string("gpt-2"), std::string("/tokenizers/llamacpp-vocab/ggml-vocab-gpt-2.gguf")),
        std::make_pair(std::string("llama3"), std::string("/tokenizers/llama3/tokenizer.json"))),
    [](const auto& info) {
      std::string n = info.param.first;
      for (auto& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

// A Hugging Face vocab maps each token to one id: a vocabulary with a token twice is refused by name, and
// none of the files is written (the SPM case writes two tokenizer files).
TEST(TokenizerFiles, DuplicateTokenIsRefusedBeforeAnyFileIsWritten) {
  for (auto kind : {Vocab::Kind::Spm, Vocab::Kind::Bpe}) {
    Vocab v;
    v.kind = kind;
    v.tokens = {"<unk>", "a", "b", "ab", "a"};
    v.scores = {0, -1, -2, -3, -4};
    v.types.assign(v.tokens.size(), TokenType::Normal);
    v.unk = 0;
    if (kind == Vocab::Kind::Bpe) v.merges = {"a b"};
    const std::filesystem::path dir = test::tmp_dir() + "/tokenizer_files/duplicate";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    try {
      write_tokenizer_files(v, dir);
      ADD_FAILURE() << "a vocabulary with 'a' twice was written";
    } catch (const tern::Error& e) {
      EXPECT_NE(std::string(e.what()).find("'a' is both id 1 and id 4"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir));
  }
}
