#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "tern/error.h"
#include "tern/registry.h"
#include "tern/tokenizer.h"
#include "tool_util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace tern::cli {

// `tern tokenize`, like llama.cpp's llama-tokenize: the ids (and pieces) a model's tokenizer gives a text.
int cmd_tokenize(const std::vector<std::string>& args) {
  std::string model_path, prompt, prompt_file;
  bool no_bos = false, ids_only = false;
  po::options_description opts("tern tokenize MODEL|TOKENIZER_FILE (-p TEXT | -f FILE) [options]");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&model_path),
                                                 "a model, or a tokenizer.json / tokenizer.model file")(
      "prompt,p", po::value(&prompt), "the text")("file,f", po::value(&prompt_file),
                                                  "read the text from a file")(
      "no-bos", po::bool_switch(&no_bos), "do not add BOS even where the tokenizer would")(
      "ids", po::bool_switch(&ids_only), "print only a JSON array of ids");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (model_path.empty()) throw Error("tern tokenize: give a MODEL or tokenizer file");
  if (vm.count("prompt") == vm.count("file"))
    throw Error("tern tokenize: give exactly one of -p TEXT and -f FILE");
  if (!prompt_file.empty()) prompt = read_text_file(prompt_file);

  const fs::path p(model_path);
  const bool tokenizer_file = p.filename() == "tokenizer.json" || p.extension() == ".model";
  const std::unique_ptr<Tokenizer> tok =
      tokenizer_file ? Tokenizer::from_file(p) : Tokenizer::from_model_file(*load_model_file(model_path));
  const std::vector<int32_t> ids = tok->encode(prompt, !no_bos && tok->vocab().add_bos);
  if (ids_only) {
    std::printf("%s\n", nlohmann::json(ids).dump().c_str());
    return 0;
  }
  for (int32_t id : ids) {
    std::string text = tok->token_to_piece(id);
    if (text.empty()) text = token_text(*tok, id);  // control tokens print as their name
    const std::string piece =
        nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::printf("%6d -> %s\n", id, piece.c_str());
  }
  return 0;
}

}  // namespace tern::cli
