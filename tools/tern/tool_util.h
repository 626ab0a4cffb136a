#pragma once
// Helpers shared by the subcommands: option parsing, progress display, atomic text output, provenance.
#include <boost/program_options.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tern/dtype.h"
#include "tern/model_file.h"
#include "tern/tokenizer.h"

namespace tern::cli {

// Parses args[1..] (args[0] is the subcommand). Returns false after printing --help.
bool parse_command_line(const std::vector<std::string>& args,
                        const boost::program_options::options_description& opts,
                        const boost::program_options::positional_options_description& pos,
                        boost::program_options::variables_map& vm);

// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(std::string what);
  ~Progress();
  void operator()(size_t done, size_t total, const std::string& item);

 private:
  std::string what_;
  bool tty_;
  bool drawn_ = false;
};

// Creates the directories `path` needs; a clear error (naming the path and the reason) when it cannot.
void make_parent_directories(const std::filesystem::path& path);

// Writes `text` to `path` through a temporary file and a rename.
void write_text_file(const std::filesystem::path& path, const std::string& text);
std::string read_text_file(const std::filesystem::path& path);

// "YYYY-MM-DD" (UTC) of now, or of $SOURCE_DATE_EPOCH when set, so reruns can be byte-identical.
std::string build_date();

// The weight type most projection tensors have ("unknown" without any), e.g. "I2_S".
std::string dominant_projection_type(const ModelFile& f);
std::string lowercase(std::string s);

// Bytes of a model on disk: a file's size, or for a checkpoint directory the sum of its .safetensors files.
uint64_t model_bytes(const std::filesystem::path& path);

// Numeric options: the value if it lies in [lo, hi], else tern::Error "--NAME must be between LO and HI, not
// V" (counts are parsed as signed so that "-1" is refused instead of wrapping to 2^64 - 1).
int64_t option_in_range(const char* name, int64_t value, int64_t lo, int64_t hi);
double option_in_range(const char* name, double value, double lo, double hi);  // NaN is out of every range
// Worker-thread options: 1 up to a few times the hardware threads (more only thrashes; 2^15 starves the
// machine).
size_t option_threads(const char* name, int64_t value);
size_t default_threads();

// llama.cpp's single-dash long options (-cnv, -sys, -np, -ctk, -ctv), which Boost would read as -c nv etc.,
// rewritten to tern's long names.
std::vector<std::string> llama_style_options(std::vector<std::string> args);
// A --cache-type-k / --cache-type-v value ("f32", "f16", "q8_0"), or tern::Error naming the option and the
// types a KV cache may be held in.
DType kv_cache_type_option(const char* name, const std::string& value);
inline constexpr const char* kKvCacheTypeHelp = "KV cache type: f32, f16 or q8_0 (head sizes multiple of 32)";
// --mmap of run, serve and bench (WeightPlacement).
inline constexpr const char* kMmapHelp =
    "read the weights in place from the file's mapping instead of copying them into huge-page memory at load "
    "(faster start, one page-cache copy shared between processes; slower generation)";

// --no-repack of run, serve and bench (WeightLayout::File), llama.cpp's name for the same choice.
inline constexpr const char* kNoRepackHelp =
    "run every weight as the file stores it, not from the faster copy a backend may make at load (TQ1_0 "
    "runs from 2-bit codes by default: 22% more memory for its weights, faster generation)";

// Throws "SOURCE cannot be written as a runnable model: <why>" unless `f` builds a Model on the reference
// backend (every tensor present, with its shape and type) and its embedded tokenizer fits the embedding.
void check_runnable(const ModelFile& f, const std::string& source);

// "sha256-<hex>" of a file.
std::string fingerprint(const std::filesystem::path& path);

// A token's text as the vocabulary spells it ("" for an id out of range): a chat template's bos_token /
// eos_token.
std::string token_text(const Tokenizer& tokenizer, int32_t id);
// Whether a rendered chat prompt still needs the vocabulary's BOS token: not when the template wrote it.
bool chat_prompt_needs_bos(const Tokenizer& tokenizer, const std::string& rendered);

// Writes <gguf stem>.fingerprint and <gguf stem>.meta.json next to `gguf`; returns the fingerprint.
std::string write_provenance(const std::filesystem::path& gguf, nlohmann::ordered_json meta);

}  // namespace tern::cli
