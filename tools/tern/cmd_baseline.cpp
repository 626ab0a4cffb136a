#include <cstdio>
#include <filesystem>
#include <sstream>

#include "commands.h"
#include "tern/arch.h"
#include "tern/error.h"
#include "tern/generate.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/tokenizer.h"
#include "tern/version.h"
#include "tool_util.h"
#include "validation.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace tern::cli {
namespace {

// Everything a baseline records; written as Markdown in the seed's template and parsed back by --verify.
struct Baseline {
  std::string fingerprint, tokenizer_fingerprint;
  size_t max_tokens = 16;
  std::vector<std::pair<std::string, std::string>> probes;  // prompt, prompt + greedy output
};

std::string render(const ValidationOptions& o, const ValidationResult& r, const ModelFile& f,
                   const Baseline& b, const std::string& name, const std::string& out_path) {
  const fs::path model(o.model_path);
  const fs::path meta_path = model.parent_path() / (model.stem().string() + ".meta.json");
  json meta = json::object();
  if (fs::exists(meta_path)) meta = json::parse(read_text_file(meta_path), nullptr, false);
  if (meta.is_discarded()) meta = json::object();
  const std::string format = dominant_projection_type(f);
  const std::string date = build_date();
  std::string norm_types;
  for (const auto& t : f.tensors)
    if (t.name.ends_with("norm.weight") && norm_types.find(dtype_name(t.type)) == std::string::npos)
      norm_types += std::string(norm_types.empty() ? "" : "/") + dtype_name(t.type);
  const std::string tok_args = o.tokenizer_path.empty() ? "" : " --tokenizer " + o.tokenizer_path;

  std::ostringstream s;
  s << "# Baseline: " << name << " " << format << "\n\n";
  s << "**Model:** " << f.get_string("general.name", model.stem().string()) << "\n";
  s << "**Variant:** " << f.get_string("general.architecture") << ", "
    << f.get_int(f.get_string("general.architecture") + ".block_count", 0) << " layers, dim "
    << f.get_int(f.get_string("general.architecture") + ".embedding_length", 0) << "\n";
  s << "**Format:** " << format << "\n";
  s << "**Export Date:** "
    << meta.value("date", std::string("unknown (no ") + meta_path.filename().string() + ")") << "\n";
  const std::string exporter = meta.contains("converter") ? meta.value("converter", std::string()) + " " +
                                                                meta.value("converter_version", std::string())
                                                          : f.get_string("tern.converter", "unknown");
  s << "**Exporter:** " << exporter << "\n\n---\n\n";

  s << "## Fingerprints\n\n### GGUF Model\n";
  s << "- **Path:** `" << o.model_path << "`\n";
  s << "- **SHA256:** `" << b.fingerprint << "`\n";
  char size[32];
  std::snprintf(size, sizeof size, "%.2f MB", double(fs::file_size(model)) / 1e6);
  s << "- **Size:** " << size << "\n\n### Tokenizer\n";
  if (o.tokenizer_path.empty()) {
    s << "- **Path:** embedded in the GGUF\n- **SHA256:** `n/a`\n\n---\n\n";
  } else {
    s << "- **Path:** `" << o.tokenizer_path << "`\n- **SHA256:** `" << b.tokenizer_fingerprint
      << "`\n\n---\n\n";
  }

  s << "## Export Configuration\n\n";
  s << "- **Source:** " << meta.value("source", std::string("unknown")) << "\n";
  s << "- **Converter:** `" << exporter << "`"
    << (f.get("tern.converter") ? " (exported by `" + f.get_string("tern.converter") + "`)" : "") << "\n";
  s << "- **Precision:** " << format << "\n";
  s << "- **LayerNorm:** Float (" << norm_types << ", not quantized)\n\n---\n\n";

  s << "## Validation Results\n\n### LayerNorm Statistics\n\n";
  double lo = 1e300, hi = 0;
  std::string suspicious;
  for (const auto& n : r.norms) {
    lo = std::min(lo, n.rms), hi = std::max(hi, n.rms);
    if (!n.healthy) suspicious += (suspicious.empty() ? "" : ", ") + n.name;
  }
  char range[64];
  std::snprintf(range, sizeof range, "[%.3f, %.3f]", lo, hi);
  s << "- **Healthy Layers:** " << r.healthy_norms() << " of " << r.norms.size() << "\n";
  s << "- **RMS Range:** " << range << "\n";
  s << "- **Suspicious Layers:** " << (suspicious.empty() ? "None" : suspicious) << "\n\n```\n";
  char line[160];
  for (const auto& n : r.norms) {
    std::snprintf(line, sizeof line, "%-24s rms=%.3f\n", n.name.c_str(), n.rms);
    s << line;
  }
  s << "```\n\n### Projection Weights\n\n```\n";
  for (const auto& p : r.projections) {
    std::snprintf(line, sizeof line, "PROJ load: %-20s %-6s rms=%.5g%s\n", p.name.c_str(), p.dtype.c_str(),
                  p.rms, p.outlier ? "  OUTLIER" : "");
    s << line;
  }
  s << "```\n\n---\n\n## Probe Outputs\n\n### Configuration\n";
  s << "- **Deterministic:** greedy argmax, 1 thread\n- **Backend:** " << r.backend << "\n";
  s << "- **Temperature:** 0.0 (greedy)\n- **Max Tokens:** " << b.max_tokens << "\n\n";
  for (size_t i = 0; i < b.probes.size(); ++i) {
    s << "### Probe " << i + 1 << "\n**Prompt:** " << json(b.probes[i].first).dump()
      << "\n\n**Expected Output:**\n```\n"
      << b.probes[i].second << "\n```\n\n";
  }
  s << "---\n\n## Reproduction Steps\n\n```bash\n";
  // The commands that made the file, from the provenance files next to it (quantize -> export -> checkpoint).
  if (meta.value("kind", "") == "quantize") {
    const fs::path src = meta.value("source", std::string());
    const fs::path src_meta = src.parent_path() / (src.stem().string() + ".meta.json");
    json export_meta = fs::exists(src_meta) ? json::parse(read_text_file(src_meta), nullptr, false) : json();
    if (export_meta.is_object() && export_meta.value("kind", "") == "export")
      s << "tern export " << export_meta.value("source", std::string()) << " -o "
        << src.parent_path().string() << "\n";
    s << "tern quantize " << src.string() << " " << src.parent_path().string() << " --type "
      << lowercase(meta.value("type", std::string()));
    for (const auto& e : meta.value("exclude_patterns", json::array()))
      s << " --exclude '" << e.get<std::string>() << "'";
    s << "\n";
  } else if (meta.value("kind", "") == "export") {
    s << "tern export " << meta.value("source", std::string()) << " -o " << model.parent_path().string()
      << "\n";
  }
  s << "tern validate " << o.model_path << tok_args << "\n";
  s << "sha256sum " << o.model_path << "   # must equal " << b.fingerprint << "\n";
  for (const auto& [prompt, text] : b.probes)
    s << "tern run -m " << o.model_path << tok_args << " -p " << json(prompt).dump() << " -n " << b.max_tokens
      << " --temp 0 --threads 1\n";
  s << "tern baseline --verify " << out_path << " " << o.model_path << tok_args << "\n```\n\n---\n\n";
  s << "## Notes\n\n- This baseline was created on: " << date << "\n- tern version: `" << version() << "`\n";
  s << "- Git commit: `" << git_commit() << "`\n\n---\n\n## Changelog\n\n- **" << date
    << ":** Initial baseline created\n";
  return s.str();
}

Baseline parse(const std::string& path) {
  Baseline b;
  std::istringstream in(read_text_file(path));
  std::string line, prompt;
  auto backticked = [](const std::string& l) {
    const auto a = l.find('`'), z = l.rfind('`');
    return a == std::string::npos || z == a ? std::string() : l.substr(a + 1, z - a - 1);
  };
  bool in_block = false, expect_block = false, first_line = true;
  std::string block;
  while (std::getline(in, line)) {
    if (in_block) {
      if (line == "```") {
        in_block = false;
        b.probes.emplace_back(prompt, block);
      } else {
        if (!first_line) block += '\n';
        block += line;
        first_line = false;
      }
      continue;
    }
    if (line.starts_with("- **SHA256:**") && b.fingerprint.empty())
      b.fingerprint = backticked(line);
    else if (line.starts_with("- **SHA256:**"))
      b.tokenizer_fingerprint = backticked(line);
    else if (line.starts_with("- **Max Tokens:**")) {
      const long long n = std::atoll(line.substr(17).c_str());
      if (n < 1 || n > 4096) throw Error(path + ": Max Tokens must be between 1 and 4096");
      b.max_tokens = size_t(n);
    } else if (line.starts_with("**Prompt:** ")) {
      const json p = json::parse(line.substr(12), nullptr, false);
      if (!p.is_string()) throw Error(path + ": unreadable probe prompt line: " + line);
      prompt = p.get<std::string>();
    } else if (line == "**Expected Output:**") {
      expect_block = true;
    } else if (line == "```" && expect_block) {
      in_block = true;
      expect_block = false;
      first_line = true;
      block.clear();
    }
  }
  if (b.fingerprint.empty() || b.probes.empty())
    throw Error(path + ": not a tern baseline (no GGUF SHA256 or no probe outputs)");
  return b;
}

}  // namespace

int cmd_baseline(const std::vector<std::string>& args) {
  ValidationOptions o;
  std::string out_path, verify_path, name;
  std::vector<std::string> probes;
  int64_t max_tokens = 16;
  po::options_description opts(
      "tern baseline MODEL [--tokenizer T] -o docs/baselines/NAME.md\n"
      "tern baseline --verify FILE MODEL [--tokenizer T]   (exit 1 on any difference)");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&o.model_path), "model file")(
      "tokenizer", po::value(&o.tokenizer_path), "tokenizer file overriding the model's own")(
      "out,o", po::value(&out_path), "baseline Markdown file to write")(
      "verify", po::value(&verify_path), "re-run the baseline in FILE against MODEL")(
      "name", po::value(&name), "model name in the title (default: the file name)")(
      "probe", po::value(&probes)->composing(), "probe prompt (repeatable; default: the template's three)")(
      "max-tokens", po::value(&max_tokens)->default_value(16), "greedy tokens per probe")(
      "backend", po::value(&o.backend), "kernel backend for the probes");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (o.model_path.empty()) throw Error("tern baseline: give a MODEL");
  if (out_path.empty() == verify_path.empty())
    throw Error("tern baseline: give either -o FILE or --verify FILE");

  Baseline b, want;
  if (!verify_path.empty()) {
    want = parse(verify_path);
    b.max_tokens = want.max_tokens;
    o.probes.clear();
    for (const auto& p : want.probes) o.probes.push_back(p.first);
  } else {
    b.max_tokens = size_t(option_in_range("max-tokens", max_tokens, 1, 4096));
    o.probes = probes.empty() ? std::vector<std::string>{"The capital of France is", "Once upon a time",
                                                         "def factorial(n):"}
                              : probes;
  }
  b.fingerprint = fingerprint(o.model_path);
  if (!o.tokenizer_path.empty()) b.tokenizer_fingerprint = fingerprint(o.tokenizer_path);

  // Statistics are recorded whatever they show; judging them is `tern validate`'s job.
  auto file = load_model_file(o.model_path);
  ValidationResult stats;
  const std::string arch = file->get_string("general.architecture");
  const ArchDescriptor* desc = find_arch(arch);
  stats.norms = check_norms(*file, o.ln_lo, o.ln_hi, desc && desc->bitlinear);
  stats.projections = check_projections(*file);
  auto tokenizer =
      o.tokenizer_path.empty() ? Tokenizer::from_model_file(*file) : Tokenizer::from_file(o.tokenizer_path);
  std::string backend_name = o.backend.empty() ? Registry::instance().usable_backends().front() : o.backend;
  Model model(std::move(file), Registry::instance().backend(o.backend));
  check_tokenizer_matches(*tokenizer, model, o.model_path);
  for (const auto& prompt : o.probes)
    b.probes.emplace_back(prompt, prompt + generate_greedy(model, *tokenizer, prompt, b.max_tokens, 1).text);

  if (!verify_path.empty()) {
    int diffs = 0;
    if (want.fingerprint != b.fingerprint)
      ++diffs, std::printf("fingerprint differs:\n  baseline: %s\n  model:    %s\n", want.fingerprint.c_str(),
                           b.fingerprint.c_str());
    if (!want.tokenizer_fingerprint.empty() && want.tokenizer_fingerprint != "n/a" &&
        !b.tokenizer_fingerprint.empty() && want.tokenizer_fingerprint != b.tokenizer_fingerprint)
      ++diffs, std::printf("tokenizer fingerprint differs:\n  baseline: %s\n  given:    %s\n",
                           want.tokenizer_fingerprint.c_str(), b.tokenizer_fingerprint.c_str());
    for (size_t i = 0; i < want.probes.size(); ++i)
      if (want.probes[i].second != b.probes[i].second)
        ++diffs,
            std::printf("probe %zu (%s) differs:\n  baseline: %s\n  model:    %s\n", i + 1,
                        json(want.probes[i].first).dump().c_str(), json(want.probes[i].second).dump().c_str(),
                        json(b.probes[i].second).dump().c_str());
    if (diffs) {
      std::fprintf(stderr, "tern baseline: %s does not match %s (%d difference(s))\n", o.model_path.c_str(),
                   verify_path.c_str(), diffs);
      return 1;
    }
    std::printf("%s matches %s: fingerprint %s and %zu probe output(s)\n", o.model_path.c_str(),
                verify_path.c_str(), b.fingerprint.c_str(), b.probes.size());
    return 0;
  }
  stats.backend = backend_name;
  if (name.empty()) name = fs::path(o.model_path).stem().string();
  make_parent_directories(out_path);
  write_text_file(out_path, render(o, stats, model.file(), b, name, out_path));
  std::printf("wrote %s (%s, %zu probes)\n", out_path.c_str(), b.fingerprint.c_str(), b.probes.size());
  return 0;
}

}  // namespace tern::cli
