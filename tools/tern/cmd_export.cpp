#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "export_check.h"
#include "output_set.h"
#include "tern/arch.h"
#include "tern/convert.h"
#include "tern/error.h"
#include "tern/registry.h"
#include "tern/sha256.h"
#include "tern/tokenizer.h"
#include "tern/version.h"
#include "tool_util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern::cli {

namespace {

std::vector<std::string> parse_formats(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string f = list.substr(start, comma - start);
    if (f != "gguf" && f != "safetensors" && f != "onnx")
      throw Error("tern export: unknown --format '" + f +
                  "' (gguf, safetensors, onnx, or a comma-separated list)");
    if (std::find(out.begin(), out.end(), f) != out.end())
      throw Error("tern export: --format names " + f + " twice");
    out.push_back(f);
    start = comma + 1;
  }
  return out;
}

std::string write_clean_gguf(const ModelFile& src, const std::string& source, ordered_json tok_meta,
                             RopeStyle src_rope, OutputSet& output);
std::string checksums(OutputSet& output);

}  // namespace

int cmd_export(const std::vector<std::string>& args) {
  std::string source, tokenizer_path, out_dir, format_list = "gguf", bitnet_layout = "offline";
  uint64_t max_shard_mib = 0;
  int64_t validate_tokens = 16;
  po::options_description opts(
      "tern export MODEL [--format gguf,safetensors] [--tokenizer tokenizer.json] -o OUT_DIR");
  opts.add_options()("help,h", "show this help")(
      "checkpoint", po::value(&source),
      "Hugging Face checkpoint directory, GGUF, or any model file tern reads")(
      "format", po::value(&format_list),
      "what to write, comma-separated: gguf (OUT_DIR/clean-f16.gguf with "
      ".fingerprint and .meta.json), safetensors (OUT_DIR/hf/, a Hugging Face checkpoint), "
      "onnx (OUT_DIR/onnx/, model.onnx with external data and genai_config.json)")(
      "tokenizer", po::value(&tokenizer_path),
      "tokenizer.json / tokenizer.model to embed instead of the checkpoint's")(
      "bitnet-layout", po::value(&bitnet_layout),
      "safetensors: BitNet projections packed 2-bit (offline) or as "
      "latent bf16 weights (online)")("max-shard-size", po::value(&max_shard_mib),
                                      "safetensors: split model.safetensors into shards of at most "
                                      "this many MiB (default: transformers' 5 GB)")(
      "validate-tokens", po::value(&validate_tokens)->default_value(16),
      "greedy tokens each export must reproduce "
      "from the source in validation.json (0: skip)")("out,o", po::value(&out_dir), "output directory");
  po::positional_options_description pos;
  pos.add("checkpoint", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (source.empty() || out_dir.empty()) throw Error("tern export: give CHECKPOINT_DIR and -o OUT_DIR");
  if (vm.count("tokenizer") && tokenizer_path.empty()) throw Error("tern export: --tokenizer is empty");
  const std::vector<std::string> formats = parse_formats(format_list);
  option_in_range("validate-tokens", validate_tokens, 0, 1024);
  const bool want_gguf = std::count(formats.begin(), formats.end(), "gguf") > 0;
  const bool want_hf = std::count(formats.begin(), formats.end(), "safetensors") > 0;
  const bool want_onnx = std::count(formats.begin(), formats.end(), "onnx") > 0;
  WriteOptions hf_options;
  if (vm.count("bitnet-layout")) {
    if (bitnet_layout != "offline" && bitnet_layout != "online")
      throw Error("tern export: --bitnet-layout '" + bitnet_layout + "' is not offline or online");
    if (!want_hf) throw Error("tern export: --bitnet-layout applies to --format safetensors");
    hf_options["bitnet_layout"] = bitnet_layout;
  }
  if (vm.count("max-shard-size")) {
    if (max_shard_mib < 1 || max_shard_mib > (uint64_t(1) << 30))
      throw Error("tern export: --max-shard-size " + std::to_string(max_shard_mib) +
                  " is out of range (1 to 2^30 MiB)");
    if (!want_hf) throw Error("tern export: --max-shard-size applies to --format safetensors");
    hf_options["max_shard_size"] = std::to_string(max_shard_mib << 20);
  }

  auto src = load_model_file(source);
  ordered_json tok_meta = nullptr;
  if (!tokenizer_path.empty()) {
    Vocab vocab = Tokenizer::from_file(tokenizer_path)->vocab();
    for (auto it = src->meta.begin(); it != src->meta.end();)
      it = it->first.starts_with("tokenizer.") ? src->meta.erase(it) : std::next(it);
    vocab.to_metadata(src->meta);
    tok_meta = {{"path", fs::absolute(tokenizer_path).string()},
                {"sha256", "sha256-" + sha256_file_hex(tokenizer_path)}};
  }
  if (!src->get("tokenizer.ggml.tokens"))
    throw Error(source + ": no tokenizer in the checkpoint; pass --tokenizer tokenizer.json");
  const ArchDescriptor* src_arch = find_arch(src->get_string("general.architecture"));
  const RopeStyle src_rope = src_arch ? file_rope_style(*src, *src_arch) : RopeStyle::Interleaved;

  OutputSet output(out_dir);
  if (want_hf) {
    // The source as it is (I2_S stays packed 2-bit, F16 stays F16), not the clean F16 copy.
    const fs::path hf = output.staged("hf");
    {
      Progress progress("export safetensors");
      Registry::instance().format("safetensors").write(*src, hf, hf_options);
    }
  }
  if (want_onnx) {
    const fs::path onnx = output.staged("onnx");
    Progress progress("export onnx");
    Registry::instance().format("onnx").write(*src, onnx, {});
  }
  std::string gguf_summary;
  if (want_gguf) gguf_summary = write_clean_gguf(*src, source, tok_meta, src_rope, output);

  // The validation report and checksums cover every file of this export.
  ordered_json reports = ordered_json::array();
  bool format_ok = true, inference_ok = true;
  for (const auto& [format, name] : {std::pair<const char*, const char*>{"gguf", "clean-f16.gguf"},
                                     {"safetensors", "hf"},
                                     {"onnx", "onnx"}}) {
    if (std::find(formats.begin(), formats.end(), format) == formats.end()) continue;
    Progress progress(std::string("validate ") + format);
    const ExportCheck c = check_export(*src, output.staged_path(name), output.final_path(name), format,
                                       size_t(validate_tokens));
    format_ok = format_ok && c.format_ok;
    inference_ok = inference_ok && c.inference_ok;
    reports.push_back(c.report);
  }
  const ordered_json validation = {{"source", fs::absolute(source).lexically_normal().string()},
                                   {"tern_version", version()},
                                   {"passed", format_ok && inference_ok},
                                   {"exports", reports}};
  write_text_file(output.staged("validation.json"), validation.dump(2) + "\n");
  write_text_file(output.staged("checksums.txt"), checksums(output));
  if (!format_ok)
    throw Error(
        out_dir +
        ": an exported model does not read back (see validation.json's format_checks); nothing written");
  output.commit();
  if (want_gguf) std::printf("%s", gguf_summary.c_str());
  if (want_hf) std::printf("wrote %s (Hugging Face checkpoint)\n", output.final_path("hf").c_str());
  if (want_onnx) std::printf("wrote %s (ONNX model)\n", output.final_path("onnx").c_str());
  std::printf("wrote %s (%s) and %s\n", output.final_path("validation.json").c_str(),
              format_ok && inference_ok ? "passed" : "FAILED", output.final_path("checksums.txt").c_str());
  if (!inference_ok)
    std::fprintf(stderr,
                 "tern: warning: an export's greedy tokens differ from the source's (validation.json)\n");
  return 0;
}

namespace {

// clean-f16.gguf with its fingerprint and provenance (.meta.json); returns what to print once committed.
std::string write_clean_gguf(const ModelFile& src_model, const std::string& source, ordered_json tok_meta,
                             RopeStyle src_rope, OutputSet& output) {
  const ModelFile* src = &src_model;
  ModelFile clean = [&] {
    Progress progress("export");
    return to_clean_f16(*src, std::ref(progress));
  }();
  clean.meta["tern.converter"] = MetaValue::str(std::string("tern export ") + version());
  check_runnable(clean, source);
  const RopeStyle out_rope = file_rope_style(clean, *find_arch(clean.get_string("general.architecture")));

  const fs::path gguf = output.staged("clean-f16.gguf");
  output.staged("clean-f16.fingerprint");
  output.staged("clean-f16.meta.json");
  Registry::instance().format("gguf").write(clean, gguf);

  // Provenance: every regular file of the source and the tokenizer, hashed.
  ordered_json files = ordered_json::object();
  std::vector<fs::path> inputs;
  if (fs::is_directory(source)) {
    for (const auto& e : fs::directory_iterator(source))
      if (e.is_regular_file()) inputs.push_back(e.path());
  } else {
    inputs.push_back(source);
  }
  std::sort(inputs.begin(), inputs.end());
  for (const auto& p : inputs) files[p.filename().string()] = "sha256-" + sha256_file_hex(p);
  if (tok_meta.is_null()) {
    for (const char* name : {"tokenizer.json", "tokenizer.model"})
      if (files.contains(name)) {
        tok_meta = {{"path", (fs::absolute(source) / name).string()}, {"sha256", files[name]}};
        break;
      }
    if (tok_meta.is_null()) tok_meta = {{"path", "embedded in the source model"}, {"sha256", nullptr}};
  }
  std::map<std::string, std::string> dtypes;
  for (const auto& t : clean.tensors) {
    const auto id = parse_tensor_name(t.name);
    const std::string cls = is_norm_tensor(t.name)                    ? "norms"
                            : is_projection_tensor(t.name)            ? "projections"
                            : id && id->role == TensorRole::TokenEmbd ? "token_embd"
                            : id && id->role == TensorRole::Output    ? "output"
                                                                      : "other";
    dtypes[cls] = dtype_name(t.type);
  }
  ordered_json meta = {
      {"kind", "export"},
      {"source", fs::absolute(source).lexically_normal().string()},
      {"source_format", src->format},
      {"source_files", files},
      {"tokenizer", tok_meta},
      {"converter", "tern export"},
      {"converter_version", version()},
      {"architecture", clean.get_string("general.architecture")},
      {"dtypes", dtypes},
      {"rope_layout", std::string(rope_style_name(out_rope)) +
                          (src_rope != out_rope ? " (q/k rows permuted from the source's order)"
                                                : " (q/k rows as in the source)")},
  };
  const std::string fp = write_provenance(gguf, meta);
  const double mib = double(fs::file_size(gguf)) / (1 << 20);
  char line[512];
  std::snprintf(line, sizeof line, "wrote %s (%zu tensors, %.2f MiB)\n",
                output.final_path("clean-f16.gguf").c_str(), clean.tensors.size(), mib);
  return line + fp + "\n";
}

// sha256sum's format ("<hex>  <path>"), every file staged so far, paths relative to OUT_DIR.
std::string checksums(OutputSet& output) {
  std::string out;
  for (const auto& [rel, path] : output.staged_files()) out += sha256_file_hex(path) + "  " + rel + "\n";
  return out;
}

}  // namespace

}  // namespace tern::cli
