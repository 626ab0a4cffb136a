#include <cstdio>

#include "commands.h"
#include "tern/error.h"
#include "tool_util.h"
#include "validation.h"

namespace po = boost::program_options;
using nlohmann::ordered_json;

namespace tern::cli {

int cmd_validate(const std::vector<std::string>& args) {
  ValidationOptions o;
  std::string ln_range;
  std::vector<std::string> probes;
  int64_t probe_tokens = 16;
  bool no_strict = false, as_json = false, strict_flag = false;
  po::options_description opts(
      "tern validate MODEL [--tokenizer tokenizer.json] [--strict]\n"
      "exit codes: 0 passed, 10 norm inspection failed to run, 11 suspicious norm weights, 12 no healthy "
      "norm\n"
      "weights, 13 model failed to load, 14 inference probe failed, 15 output is gibberish");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&o.model_path),
                                                 "model file or checkpoint directory")(
      "tokenizer", po::value(&o.tokenizer_path), "tokenizer file overriding the model's own")(
      "strict", po::bool_switch(&strict_flag), "refuse runtime corrections of weights (the default)")(
      "no-strict", po::bool_switch(&no_strict), "allow corrections requested by TERN_FIX_LN_SCALE")(
      "probe", po::value(&probes)->composing(),
      "prompt for the linguistic probe (repeatable; replaces the defaults)")(
      "probe-tokens", po::value(&probe_tokens)->default_value(16), "greedy tokens generated per probe")(
      "words", po::value(&o.words_path), "English word list (default: Debian's wamerican)")(
      "min-word-fraction", po::value(&o.min_word_fraction)->default_value(0.6, "0.6"),
      "share of generated words that must be English")(
      "ln-range", po::value(&ln_range),
      "healthy norm RMS range LO:HI (default 0.5:2.0; enforced for BitNet models, "
      "and for others only when given)")("backend", po::value(&o.backend), "kernel backend for the probes")(
      "json", po::bool_switch(&as_json), "machine-readable report on stdout");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (o.model_path.empty()) throw Error("tern validate: give a MODEL");
  o.probe_tokens = size_t(option_in_range("probe-tokens", int64_t(probe_tokens), 1, 4096));
  option_in_range("min-word-fraction", o.min_word_fraction, 0.0, 1.0);
  if (strict_flag && no_strict) throw Error("tern validate: --strict and --no-strict contradict each other");
  o.strict = !no_strict;
  if (!probes.empty()) o.probes = probes;
  if (!ln_range.empty()) {
    if (std::sscanf(ln_range.c_str(), "%lf:%lf", &o.ln_lo, &o.ln_hi) != 2 || !(o.ln_lo < o.ln_hi))
      throw Error("tern validate: --ln-range must be LO:HI, e.g. 0.5:2.0");
    o.ln_range_given = true;
  }

  const auto r = run_validation(o);
  if (as_json) {
    ordered_json norms = ordered_json::array(), projs = ordered_json::array(), pr = ordered_json::array();
    for (const auto& n : r.norms)
      norms.push_back(
          {{"name", n.name}, {"rms", n.rms}, {"range_checked", n.range_checked}, {"healthy", n.healthy}});
    for (const auto& p : r.projections)
      projs.push_back({{"name", p.name},
                       {"dtype", p.dtype},
                       {"rms", p.rms},
                       {"ratio_to_median", p.ratio},
                       {"outlier", p.outlier}});
    for (const auto& p : r.probes)
      pr.push_back({{"prompt", p.prompt},
                    {"output", p.text},
                    {"words", p.judgement.words},
                    {"english_words", p.judgement.known}});
    std::printf("%s\n", ordered_json{{"model", o.model_path},
                                     {"strict", o.strict},
                                     {"exit_code", r.exit_code},
                                     {"passed", r.exit_code == 0},
                                     {"failure", r.failure},
                                     {"warnings", r.warnings},
                                     {"norms", norms},
                                     {"projections", projs},
                                     {"probes", pr}}
                            .dump(2)
                            .c_str());
    return r.exit_code;
  }

  std::printf("validate %s (%s mode)\n", o.model_path.c_str(), o.strict ? "strict" : "non-strict");
  if (!r.norms.empty()) {
    double lo = 1e300, hi = 0;
    for (const auto& n : r.norms)
      if (n.range_checked) lo = std::min(lo, n.rms), hi = std::max(hi, n.rms);
    std::printf("[1/3] norm weights: %zu of %zu healthy", r.healthy_norms(), r.norms.size());
    if (hi > 0) std::printf(", RMS range [%.3f, %.3f]", lo, hi);
    std::printf(r.range_enforced ? " (healthy: [%.2f, %.2f])\n"
                                 : " (range %.2f..%.2f not enforced for %s; see --ln-range)\n",
                o.ln_lo, o.ln_hi, r.architecture.c_str());
    for (const auto& n : r.norms) {
      if (!n.healthy)
        std::printf("  %-28s rms=%.3f  SUSPICIOUS\n", n.name.c_str(), n.rms);
      else if (!n.range_checked && r.range_enforced)
        std::printf("  %-28s rms=%.3f  (final norm: gain is learned freely, not range-checked)\n",
                    n.name.c_str(), n.rms);
    }
  }
  if (!r.projections.empty()) {
    size_t outliers = 0;
    for (const auto& p : r.projections) outliers += p.outlier;
    std::printf("[2/3] projection weights: %zu load, %zu RMS outlier(s)\n", r.projections.size(), outliers);
    for (const auto& p : r.projections)
      if (p.outlier || p.name.starts_with("blk.0."))
        std::printf("  PROJ %-24s %-6s rms=%.4g%s\n", p.name.c_str(), p.dtype.c_str(), p.rms,
                    p.outlier ? "  OUTLIER (vs. other layers)" : "");
  }
  if (!r.probes.empty()) {
    std::printf("[3/3] linguistic sanity (greedy, %zu tokens, backend %s, words from %s)\n", o.probe_tokens,
                r.backend.c_str(), r.words_path.c_str());
    for (const auto& p : r.probes)
      std::printf("  %s -> %s  [%zu/%zu English words]\n", ordered_json(p.prompt).dump().c_str(),
                  ordered_json(p.text).dump().c_str(), p.judgement.known, p.judgement.words);
  }
  for (const auto& w : r.warnings) std::printf("warning: %s\n", w.c_str());
  if (r.exit_code == 0)
    std::printf("PASSED\n");
  else {
    std::printf("FAILED (exit %d): %s\n", r.exit_code, r.failure.c_str());
    // Most failures already start with the model's path (they come from the loader); name it only once.
    if (r.failure.starts_with(o.model_path))
      std::fprintf(stderr, "tern validate: %s\n", r.failure.c_str());
    else
      std::fprintf(stderr, "tern validate: %s: %s\n", o.model_path.c_str(), r.failure.c_str());
  }
  return r.exit_code;
}

}  // namespace tern::cli
