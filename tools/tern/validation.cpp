#include "validation.h"

#include <algorithm>
#include <cstdlib>

#include "tern/arch.h"
#include "tern/error.h"
#include "tern/generate.h"
#include "tern/health.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/tokenizer.h"

namespace tern::cli {

size_t ValidationResult::healthy_norms() const {
  return size_t(std::count_if(norms.begin(), norms.end(), [](const NormCheck& c) { return c.healthy; }));
}

size_t ValidationResult::healthy_range_checked_norms() const {
  return size_t(std::count_if(norms.begin(), norms.end(),
                              [](const NormCheck& c) { return c.healthy && c.range_checked; }));
}

ValidationResult run_validation(const ValidationOptions& opt) {
  ValidationResult r;
  auto fail = [&](int code, std::string why) {
    r.exit_code = code;
    r.failure = std::move(why);
    return r;
  };
  float correction = 1.0f;
  if (opt.strict) {
    for (const char* var : kCorrectionEnvVars)
      if (const char* v = std::getenv(var); v && *v)
        return fail(kLoadFailed, std::string("strict mode refuses runtime corrections, but ") + var + "=" +
                                     v + " is set (unset it, or pass --no-strict)");
  } else {
    try {
      correction = norm_correction_factor();
    } catch (const Error& e) {
      return fail(kLoadFailed, e.what());
    }
    if (correction != 1.0f)
      r.warnings.push_back("TERN_FIX_LN_SCALE multiplies every norm weight by " + std::to_string(correction));
  }

  std::unique_ptr<ModelFile> file;
  try {
    file = load_model_file(opt.model_path);
  } catch (const Error& e) {
    return fail(kLoadFailed, e.what());
  }
  r.architecture = file->get_string("general.architecture");
  // NaN / Inf anywhere is a broken model (exit 13), whichever check would otherwise trip over it first.
  if (const std::string bad = find_non_finite(*file); !bad.empty())
    return fail(kLoadFailed, opt.model_path + ": " + bad);

  // (1) norm weights
  const ArchDescriptor* arch = find_arch(r.architecture);
  const bool bitnet = arch && arch->bitlinear;
  r.range_enforced = bitnet || opt.ln_range_given;
  try {
    r.norms = check_norms(*file, opt.ln_lo, opt.ln_hi, r.range_enforced, correction);
  } catch (const std::exception& e) {
    return fail(kLnInspectionFailed, std::string("norm inspection failed: ") + e.what());
  }
  if (r.norms.empty())
    return fail(kLnInspectionFailed, opt.model_path + ": no norm weights (*norm.weight) to inspect");
  const size_t healthy = r.healthy_norms();
  // The unchecked final norm alone does not make a model healthy.
  const bool any_checked =
      std::any_of(r.norms.begin(), r.norms.end(), [](const NormCheck& c) { return c.range_checked; });
  if ((any_checked ? r.healthy_range_checked_norms() : healthy) == 0)
    return fail(kLnNoneHealthy, "no healthy norm weights (" + std::to_string(r.norms.size() - healthy) +
                                    " of " + std::to_string(r.norms.size()) + " suspicious)");
  if (healthy < r.norms.size())
    return fail(kLnSuspicious, std::to_string(r.norms.size() - healthy) + " of " +
                                   std::to_string(r.norms.size()) + " norm weights are suspicious");

  // (2) projection weights: finite, consistent RMS per kind, and the model builds on a backend
  try {
    r.projections = check_projections(*file);
  } catch (const std::exception& e) {
    return fail(kLoadFailed, std::string("projection weights failed to load: ") + e.what());
  }
  for (const auto& p : r.projections) {
    if (!p.finite) return fail(kLoadFailed, "projection " + p.name + " contains NaN or Inf");
    if (p.outlier)
      r.warnings.push_back("projection " + p.name + " rms=" + std::to_string(p.rms) + " is " +
                           std::to_string(p.ratio) + "x the median of " + p.kind);
  }
  if (!opt.run_probes) return r;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  try {
    std::string why;
    auto be = Registry::instance().backend(opt.backend, &why);
    r.backend = opt.backend.empty() ? Registry::instance().usable_backends().front() : opt.backend;
    tokenizer = opt.tokenizer_path.empty() ? Tokenizer::from_model_file(*file)
                                           : Tokenizer::from_file(opt.tokenizer_path);
    model = std::make_unique<Model>(std::move(file), be);
    check_tokenizer_matches(*tokenizer, *model, opt.model_path);
  } catch (const Error& e) {
    return fail(kLoadFailed, e.what());
  }

  // (3) linguistic sanity
  WordList words;
  try {
    r.words_path = opt.words_path.empty() ? WordList::default_path().string() : opt.words_path;
    words = WordList::load(r.words_path);
  } catch (const Error& e) {
    return fail(kProbeFailed, std::string("cannot judge the probes: ") + e.what());
  }
  size_t total = 0, known = 0;
  for (const auto& prompt : opt.probes) {
    GreedyResult g;
    try {
      g = generate_greedy(*model, *tokenizer, prompt, opt.probe_tokens, 1);
    } catch (const Error& e) {
      return fail(kProbeFailed, "probe '" + prompt + "' failed: " + e.what());
    }
    if (!g.all_logits_finite) return fail(kProbeFailed, "probe '" + prompt + "' produced NaN/Inf logits");
    ProbeOutcome o{prompt, g.text, judge_words(words, g.text)};
    total += o.judgement.words;
    known += o.judgement.known;
    r.probes.push_back(std::move(o));
  }
  for (const auto& p : r.probes) {
    if (p.judgement.known == 0) return fail(kGibberish, "probe '" + p.prompt + "' produced no English words");
    if (p.judgement.repetitive())
      return fail(kGibberish, "probe '" + p.prompt + "' repeats itself (" +
                                  std::to_string(p.judgement.distinct) + " distinct of " +
                                  std::to_string(p.judgement.words) + " words)");
  }
  const double frac = total ? double(known) / double(total) : 0.0;
  if (frac < opt.min_word_fraction)
    return fail(kGibberish, "only " + std::to_string(known) + " of " + std::to_string(total) +
                                " generated words are English (need " +
                                std::to_string(int(opt.min_word_fraction * 100)) + "%)");
  return r;
}

}  // namespace tern::cli
