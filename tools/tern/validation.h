#pragma once
// The checks behind `tern validate` (and the statistics `tern baseline` records): norm weights, projection
// weights, and greedy probes judged against an English word list.
#include <string>
#include <vector>

#include "tern/health.h"

namespace tern::cli {

// Exit codes of `tern validate` (the seed's validate_gguf.sh contract).
enum ValidateExit : int {
  kValidateOk = 0,
  kLnInspectionFailed = 10,
  kLnSuspicious = 11,
  kLnNoneHealthy = 12,
  kLoadFailed = 13,
  kProbeFailed = 14,
  kGibberish = 15,
};

struct ValidationOptions {
  std::string model_path, tokenizer_path, backend, words_path;
  std::vector<std::string> probes{"The capital of France is", "Once upon a time"};
  size_t probe_tokens = 16;
  bool strict = true;
  double ln_lo = 0.5, ln_hi = 2.0;
  bool ln_range_given = false;  // without it, the range is enforced only for BitNet models
  double min_word_fraction = 0.6;
  bool run_probes = true;
};

struct ProbeOutcome {
  std::string prompt, text;
  TextJudgement judgement;
};

struct ValidationResult {
  int exit_code = kValidateOk;
  std::string failure;  // one line, empty when passed
  std::vector<std::string> warnings;
  std::string architecture, backend, words_path;
  bool range_enforced = true;
  std::vector<NormCheck> norms;
  std::vector<ProjectionCheck> projections;
  std::vector<ProbeOutcome> probes;
  size_t healthy_norms() const;
  size_t healthy_range_checked_norms() const;
};

// Runs the checks in order and stops at the first failing stage.
ValidationResult run_validation(const ValidationOptions& opt);

}  // namespace tern::cli
