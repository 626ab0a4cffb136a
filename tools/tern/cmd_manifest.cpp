#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "commands.h"
#include "tern/error.h"
#include "tern/generate.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/sha256.h"
#include "tern/tokenizer.h"
#include "tern/version.h"
#include "tool_util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern::cli {

int cmd_manifest(const std::vector<std::string>& args) {
  std::string model_path, out_path, name, model_version = "1.0.0", backend_name, tokenizer_path;
  int64_t bench_tokens_opt = 32, threads_opt = int64_t(default_threads());
  po::options_description opts("tern manifest MODEL -o manifest.json");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&model_path), "model file")(
      "out,o", po::value(&out_path), "manifest file to write")(
      "name", po::value(&name), "model name (default: general.name, else the file name)")(
      "model-version", po::value(&model_version)->default_value("1.0.0"), "version recorded for the model")(
      "tokenizer", po::value(&tokenizer_path), "tokenizer file shipped with the model (default: embedded)")(
      "bench-tokens", po::value(&bench_tokens_opt)->default_value(32),
      "tokens generated to measure speed (0: skip)")(
      "threads,t", po::value(&threads_opt), "threads for the speed measurement (default: all cores)")(
      "backend", po::value(&backend_name), "kernel backend for the speed measurement");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (model_path.empty() || out_path.empty()) throw Error("tern manifest: give MODEL and -o manifest.json");
  const size_t bench_tokens = size_t(option_in_range("bench-tokens", bench_tokens_opt, 0, 4096));
  const size_t threads = option_threads("threads", threads_opt);

  // A directory (a tern export's OUT_DIR, a Hugging Face checkpoint, an ONNX directory): every file in it is
  // listed with its sha256; an export's model is its clean-f16.gguf, else hf/, else onnx/.
  std::error_code ec;
  const fs::path root = model_path;
  ordered_json listing = nullptr;
  std::string load_path = model_path, checksum;
  uint64_t size_bytes = 0;
  if (fs::is_directory(root, ec)) {
    listing = ordered_json::array();
    std::vector<fs::path> all;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      if (it->path().filename().string().starts_with(".")) {  // staging leftovers, editor files
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && fs::absolute(it->path()) != fs::absolute(out_path))
        all.push_back(it->path());
    }
    std::sort(all.begin(), all.end());
    std::string lines;
    for (const auto& p : all) {
      const std::string rel = fs::relative(p, root).string(), hex = sha256_file_hex(p);
      listing.push_back({{"path", rel}, {"size_bytes", fs::file_size(p)}, {"sha256", hex}});
      lines += hex + "  " + rel + "\n";
      size_bytes += fs::file_size(p);
    }
    checksum = "sha256:" + sha256_hex(lines.data(), lines.size());  // of the listing, in sha256sum format
    for (const char* m : {"clean-f16.gguf", "hf", "onnx"})
      if (fs::exists(root / m, ec)) {
        load_path = (root / m).string();
        break;
      }
  } else {
    size_bytes = fs::file_size(root);
    checksum = "sha256:" + fingerprint(model_path).substr(7);
  }
  auto file = load_model_file(load_path);
  const std::string arch = file->get_string("general.architecture");
  if (name.empty()) name = file->get_string("general.name", fs::path(model_path).stem().string());
  uint64_t params = 0;
  for (const auto& t : file->tensors) params += t.n_elements();
  const std::string quant = lowercase(dominant_projection_type(*file));

  auto tokenizer =
      tokenizer_path.empty() ? Tokenizer::from_model_file(*file) : Tokenizer::from_file(tokenizer_path);
  std::string why;
  auto backend = Registry::instance().backend(backend_name, &why);
  if (backend_name.empty()) backend_name = Registry::instance().usable_backends().front();
  const std::string format = file->format;
  Model model(std::move(file), backend);
  check_tokenizer_matches(*tokenizer, model, model_path);
  const auto& hp = model.hparams();
  ordered_json perf = ordered_json::object();
  if (bench_tokens) {
    const auto g = generate_greedy(model, *tokenizer, "Once upon a time", bench_tokens, threads);
    perf = {
        {"inference_speed_tokens_per_sec", g.tokens.empty() ? 0.0 : double(g.tokens.size()) / g.gen_seconds},
        {"prompt_tokens_per_sec", double(g.prompt_tokens.size()) / g.prompt_seconds},
        {"measured_tokens", g.tokens.size()},
        {"backend", backend_name},
        {"threads", threads}};
  }
  const ordered_json manifest = {
      {"model_name", name},
      {"version", model_version},
      {"format", format},
      {"quantization", quant},
      {"architecture", arch},
      {"parameters", params},
      {"vocab_size", hp.n_vocab},
      {"context_length", hp.n_ctx_train},
      {"embedding_dim", hp.n_embd},
      {"num_layers", hp.n_layer},
      {"num_heads", hp.n_head},
      {"num_kv_heads", hp.n_head_kv},
      {"size_bytes", size_bytes},
      {"checksum", checksum},
      {"created", build_date()},
      // The reference backend is portable C++ and tern builds for all three (see scripts/cross.sh).
      {"target_architectures", {"x86_64", "aarch64", "riscv64"}},
      {"performance", perf},
      {"files",
       {{"model", listing.is_null() || load_path == model_path ? fs::path(model_path).filename().string()
                                                               : fs::relative(load_path, root).string()},
        {"tokenizer", tokenizer_path.empty() ? "embedded" : fs::path(tokenizer_path).filename().string()}}},
      {"contents", listing},
      {"tern_version", version()},
  };
  make_parent_directories(out_path);
  write_text_file(out_path, manifest.dump(2) + "\n");
  std::printf("wrote %s\n", out_path.c_str());
  return 0;
}

}  // namespace tern::cli
