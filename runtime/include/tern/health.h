#pragma once
// Model health checks shared by `tern inspect`, `tern validate` and `tern baseline`: tensor statistics, norm
// weight RMS, per-layer projection RMS consistency, and an English-word judge for generated text.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "tern/model_file.h"

namespace tern {

struct TensorStats {
  double mean = 0, std = 0, min = 0, max = 0, rms = 0;
  double frac_zero = 0, frac_pm_one = 0;  // share of 0 and of +-scale (ternary types)
  uint64_t nan = 0, inf = 0, n = 0;       // n counts the finite values
};
TensorStats tensor_stats(const TensorInfo& t);

// "" when every tensor value is finite and every recorded ternary scale (tern.ternary_scale.*) is a finite
// positive number; otherwise a description of the first offender ("tensor X: 3 NaN, 0 Inf values"). This is
// `tern run --check-tensors` and the first step of `tern validate`.
std::string find_non_finite(const ModelFile& f);

// The factor TERN_FIX_LN_SCALE asks to multiply every norm weight by (1 when unset). This is a runtime
// correction of a broken export; `tern validate --strict` refuses to run while it is set.
float norm_correction_factor();
inline constexpr const char* kCorrectionEnvVars[] = {"TERN_FIX_LN_SCALE"};

struct NormCheck {
  std::string name;  // without ".weight"
  double rms = 0;
  bool finite = true;
  bool range_checked = true;  // false for the final output_norm, whose gain is learned freely
  bool healthy = true;
};
// RMS of every norm weight (times `correction`), healthy when finite and inside [lo, hi]. When
// `enforce_range` is false only finiteness and a non-zero RMS are required.
std::vector<NormCheck> check_norms(const ModelFile& f, double lo, double hi, bool enforce_range,
                                   float correction = 1);

struct ProjectionCheck {
  std::string name;  // e.g. blk.3.attn_q
  std::string kind;  // attn_q, attn_k, ..., ffn_down
  std::string dtype;
  double rms = 0;
  double ratio = 1;  // rms / median rms of the same kind over all layers
  bool finite = true;
  bool outlier = false;  // ratio outside [1/ratio_limit, ratio_limit]
};
std::vector<ProjectionCheck> check_projections(const ModelFile& f, double ratio_limit = 4.0);

// A set of lower-case English words (Debian's wamerican: /usr/share/dict/american-english).
class WordList {
 public:
  static std::filesystem::path default_path();  // first existing of the usual /usr/share/dict files, or ""
  static WordList load(const std::filesystem::path& path);  // throws tern::Error naming the file
  bool contains(const std::string& lower_word) const { return words_.count(lower_word) != 0; }
  size_t size() const { return words_.size(); }

 private:
  std::unordered_set<std::string> words_;
};

struct TextJudgement {
  size_t words = 0;  // runs of ASCII letters (with inner apostrophes)
  size_t known = 0;  // of those, words in the list
  size_t distinct = 0;
  // Degenerate repetition ("time time time ...") is made of real words but is not language.
  bool repetitive() const { return words >= 6 && distinct * 3 < words; }
  double fraction() const { return words ? double(known) / double(words) : 0.0; }
};
TextJudgement judge_words(const WordList& list, const std::string& text);

}  // namespace tern
