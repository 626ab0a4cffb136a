#pragma once
// Helpers shared by the subcommands: option parsing, progress display, atomic text output, provenance.
#include <boost/program_options.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tern/model_file.h"

namespace tern::cli {

// Parses args[1..] (args[0] is the subcommand). Returns false after printing --help.
bool parse_command_line(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
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

// "sha256-<hex>" of a file.
std::string fingerprint(const std::filesystem::path& path);

// Writes <gguf stem>.fingerprint and <gguf stem>.meta.json next to `gguf`; returns the fingerprint.
std::string write_provenance(const std::filesystem::path& gguf, nlohmann::ordered_json meta);

}  // namespace tern::cli
