#include "tern/health.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "tern/convert.h"
#include "tern/error.h"

namespace tern {

std::string find_non_finite(const ModelFile& f) {
  for (const auto& [key, v] : f.meta) {
    if (!key.starts_with("tern.ternary_scale.")) continue;
    if (!v.is_float() || !std::isfinite(v.f) || v.f <= 0)
      return "metadata " + key + " = " + v.to_string() + " is not a finite positive scale";
  }
  for (const auto& t : f.tensors) {
    if (dtype_tensor_scaled(t.type)) {
      const float s = tensor_scale(t.type, t.data, t.ne[0], t.n_rows());
      if (!std::isfinite(s))
        return "tensor " + t.name + ": its " + dtype_name(t.type) + " scale is not finite";
    }
    const TensorStats s = tensor_stats(t);
    if (s.nan || s.inf)
      return "tensor " + t.name + ": " + std::to_string(s.nan) + " NaN and " + std::to_string(s.inf) +
             " Inf values";
  }
  return "";
}

TensorStats tensor_stats(const TensorInfo& t) {
  TensorStats s;
  const size_t K = t.ne.empty() ? 0 : t.ne[0];
  const bool ternary = dtype_traits(t.type)->ternary;
  std::vector<float> row(K);
  double sum = 0, sq = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  uint64_t zeros = 0, ones = 0;
  for (size_t r = 0; r < t.n_rows(); ++r) {
    dequantize_rows(t.type, t.data, K, t.n_rows(), r, 1, row.data());
    for (float v : row) {
      if (std::isnan(v)) {
        ++s.nan;
        continue;
      }
      if (std::isinf(v)) {
        ++s.inf;
        continue;
      }
      ++s.n;
      sum += v;
      sq += double(v) * v;
      s.min = std::min(s.min, double(v));
      s.max = std::max(s.max, double(v));
      zeros += v == 0.0f;
      ones += ternary && v != 0.0f;
    }
  }
  if (s.n) {
    s.mean = sum / double(s.n);
    s.rms = std::sqrt(sq / double(s.n));
    s.std = std::sqrt(std::max(0.0, sq / double(s.n) - s.mean * s.mean));
    s.frac_zero = double(zeros) / double(s.n);
    s.frac_pm_one = double(ones) / double(s.n);
  } else {
    s.min = s.max = 0;
  }
  return s;
}

float norm_correction_factor() {
  const char* v = std::getenv("TERN_FIX_LN_SCALE");
  if (!v || !*v) return 1.0f;
  char* end = nullptr;
  const float f = std::strtof(v, &end);
  if (*end || !std::isfinite(f) || f <= 0)
    throw Error(std::string("TERN_FIX_LN_SCALE='") + v + "' is not a positive number");
  return f;
}

std::vector<NormCheck> check_norms(const ModelFile& f, double lo, double hi, bool enforce_range,
                                   float correction) {
  std::vector<NormCheck> out;
  for (const auto& t : f.tensors) {
    if (!is_norm_tensor(t.name)) continue;
    const auto s = tensor_stats(t);
    NormCheck c;
    c.name = t.name.substr(0, t.name.size() - 7);
    c.rms = s.rms * correction;
    c.finite = s.nan == 0 && s.inf == 0;
    c.range_checked = enforce_range && t.name != tensor_name({TensorRole::OutputNorm});
    c.healthy = c.finite && c.rms > 1e-6 && (!c.range_checked || (c.rms >= lo && c.rms <= hi));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<ProjectionCheck> check_projections(const ModelFile& f, double ratio_limit) {
  std::vector<ProjectionCheck> out;
  std::map<std::string, std::vector<double>> by_kind;
  for (const auto& t : f.tensors) {
    if (!is_projection_tensor(t.name)) continue;
    ProjectionCheck c;
    c.name = t.name.substr(0, t.name.size() - 7);
    c.kind = c.name.substr(c.name.rfind('.') + 1);
    c.dtype = dtype_name(t.type);
    const auto s = tensor_stats(t);
    c.rms = s.rms;
    c.finite = s.nan == 0 && s.inf == 0;
    by_kind[c.kind].push_back(c.rms);
    out.push_back(std::move(c));
  }
  for (auto& [kind, v] : by_kind) std::sort(v.begin(), v.end());
  for (auto& c : out) {
    const auto& v = by_kind[c.kind];
    const double median = v[v.size() / 2];
    c.ratio = median > 0 ? c.rms / median : (c.rms > 0 ? INFINITY : 1.0);
    c.outlier = !(c.ratio >= 1.0 / ratio_limit && c.ratio <= ratio_limit);
  }
  return out;
}

std::filesystem::path WordList::default_path() {
  std::error_code ec;
  for (const char* p :
       {"/usr/share/dict/american-english", "/usr/share/dict/words", "/usr/share/dict/british-english"})
    if (std::filesystem::exists(p, ec)) return p;
  return {};
}

WordList WordList::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (path.empty() || !in)
    throw Error((path.empty() ? std::string("no English word list found")
                              : path.string() + ": cannot open word list") +
                " (install Debian's wamerican, or pass --words FILE)");
  WordList w;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    for (auto& ch : line) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    // wamerican lists possessives ("dog's") separately; the judge strips them itself.
    if (line.ends_with("'s")) continue;
    w.words_.insert(line);
  }
  if (w.words_.size() < 1000)
    throw Error(path.string() + ": not a word list (" + std::to_string(w.words_.size()) + " words)");
  return w;
}

TextJudgement judge_words(const WordList& list, const std::string& text) {
  TextJudgement j;
  std::string word;
  std::set<std::string> seen;
  auto flush = [&] {
    while (!word.empty() && word.back() == '\'') word.pop_back();
    if (word.ends_with("'s")) word.resize(word.size() - 2);
    if (!word.empty()) {
      ++j.words;
      j.known += list.contains(word);
      j.distinct += seen.insert(word).second;
    }
    word.clear();
  };
  for (unsigned char ch : text) {
    if (std::isalpha(ch))
      word += char(std::tolower(ch));
    else if (ch == '\'' && !word.empty())
      word += '\'';
    else if (ch >= 0x80) {  // a non-ASCII byte inside a word makes it unknown rather than splitting it
      if (!word.empty()) word += '#';
    } else
      flush();
  }
  flush();
  return j;
}

}  // namespace tern
