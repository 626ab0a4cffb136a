#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "commands.h"
#include "output_set.h"
#include "tern/arch.h"
#include "tern/convert.h"
#include "tern/error.h"
#include "tern/registry.h"
#include "tern/version.h"
#include "tool_util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern::cli {

int cmd_quantize(const std::vector<std::string>& args) {
  std::string in_path, out_dir, type_name;
  std::vector<std::string> excludes;
  po::options_description opts("tern quantize IN.gguf OUT_DIR --type i2_s|tl1|tl2|tq1_0|tq2_0");
  opts.add_options()("help,h", "show this help")("in", po::value(&in_path), "input model (a clean F16 GGUF)")(
      "out-dir", po::value(&out_dir), "output directory for clean-<type>.gguf, .fingerprint, .meta.json")(
      "type", po::value(&type_name), "ternary type: i2_s, tl1, tl2, tq1_0 or tq2_0")(
      "exclude", po::value(&excludes)->composing(), "also keep tensors matching this regex (repeatable)");
  po::positional_options_description pos;
  pos.add("in", 1).add("out-dir", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (in_path.empty() || out_dir.empty() || type_name.empty())
    throw Error("tern quantize: give IN.gguf OUT_DIR --type i2_s|tl1|tl2|tq1_0|tq2_0");
  const auto type = dtype_from_name(type_name);
  if (!type || !dtype_traits(*type)->ternary)
    throw Error("tern quantize: unknown --type '" + type_name + "' (choose i2_s, tl1, tl2, tq1_0 or tq2_0)");
  const std::string lower = lowercase(dtype_name(*type));
  std::vector<std::regex> patterns;
  for (const auto& e : excludes) {
    try {
      patterns.emplace_back(e);
    } catch (const std::regex_error& err) {
      throw Error("tern quantize: --exclude '" + e + "' is not a valid regex");
    }
  }

  std::error_code ec;
  if (fs::is_directory(in_path, ec))
    throw Error("tern quantize: " + in_path +
                " is a directory; quantize takes a GGUF file (run tern export on a "
                "checkpoint directory first)");
  auto src = load_model_file(in_path);
  const std::string source_fingerprint = fingerprint(in_path);
  const std::string arch = src->get_string("general.architecture");
  if (const ArchDescriptor* desc = find_arch(arch); desc && !desc->bitlinear)
    std::fprintf(stderr,
                 "tern quantize: warning: %s is a llama model, not trained ternary; %s will degrade it\n",
                 in_path.c_str(), dtype_name(*type));
  QuantizeReport report;
  ModelFile q = [&] {
    Progress progress("quantize");
    auto exclude = [&](const std::string& name) {
      return std::any_of(patterns.begin(), patterns.end(),
                         [&](const std::regex& re) { return std::regex_search(name, re); });
    };
    return quantize_ternary(*src, *type, exclude, &report, std::ref(progress));
  }();
  if (report.quantized.empty()) throw Error(in_path + ": no projection weights left to quantize");
  check_runnable(q, in_path);

  OutputSet output(out_dir);
  const std::string stem = "clean-" + lower;
  const fs::path gguf = output.staged(stem + ".gguf");
  output.staged(stem + ".fingerprint");
  output.staged(stem + ".meta.json");
  Registry::instance().format("gguf").write(q, gguf);

  size_t exact = 0;
  double zmin = 1, zmax = 0;
  ordered_json tensors = ordered_json::array();
  for (const auto& t : report.quantized) {
    exact += t.exact;
    zmin = std::min(zmin, t.frac_zero);
    zmax = std::max(zmax, t.frac_zero);
    tensors.push_back(
        {{"name", t.name}, {"scale", t.scale}, {"source_was_ternary", t.exact}, {"frac_zero", t.frac_zero}});
  }
  ordered_json meta = {
      {"kind", "quantize"},
      {"source", fs::absolute(in_path).lexically_normal().string()},
      {"source_fingerprint", source_fingerprint},
      {"converter", "tern quantize"},
      {"converter_version", version()},
      {"type", dtype_name(*type)},
      {"quantized", "attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down weights"},
      {"never_quantized", "norm weights, token_embd, output (kept in their source type)"},
      {"exclude_patterns", excludes},
      {"rule",
       "ternary = round(w / s).clip(-1, 1) with the tensor's own scale s: its single magnitude when the "
       "source is already ternary, else mean|w|"},
      {"tensors", tensors},
      {"kept", report.kept},
  };
  const std::string fp = write_provenance(gguf, meta);
  output.commit();
  std::printf(
      "wrote %s: %zu projection tensors as %s (%zu already ternary, kept exactly), %zu kept; zeros "
      "%.1f%%..%.1f%%\n%s\n",
      output.final_path(stem + ".gguf").c_str(), report.quantized.size(), dtype_name(*type), exact,
      report.kept.size(), 100 * zmin, 100 * zmax, fp.c_str());
  if (zmin < 0.15 || zmax > 0.6)
    std::fprintf(stderr,
                 "tern quantize: warning: zero fraction %.1f%%..%.1f%% is far from BitNet's ~1/3; is %s "
                 "ternary-trained?\n",
                 100 * zmin, 100 * zmax, in_path.c_str());
  return 0;
}

}  // namespace tern::cli
