#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "tern/error.h"
#include "tern/registry.h"

namespace po = boost::program_options;
using nlohmann::json;

namespace tern::cli {
namespace {

struct TensorStats {
  double mean = 0, std = 0, min = 0, max = 0, rms = 0;
  double frac_zero = 0, frac_pm_one = 0;  // share of 0 and of +-scale (ternary types)
  uint64_t nan = 0, inf = 0, n = 0;
};

TensorStats tensor_stats(const TensorInfo& t) {
  TensorStats s;
  const size_t K = t.ne[0];
  const float i2s = t.type == DType::I2_S ? i2s_scale(t.data, t.n_elements()) : 1.0f;
  const bool ternary = dtype_traits(t.type)->ternary;
  std::vector<float> row(K);
  double sum = 0, sq = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  uint64_t zeros = 0, ones = 0;
  for (size_t r = 0; r < t.n_rows(); ++r) {
    dequantize_row(t.type, t.data + dtype_row_offset(t.type, K, r), row.data(), K, i2s);
    float row_max = 0;
    if (ternary)
      for (float v : row) row_max = std::max(row_max, std::fabs(v));
    for (float v : row) {
      if (std::isnan(v)) { ++s.nan; continue; }
      if (std::isinf(v)) { ++s.inf; continue; }
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
  }
  return s;
}

bool is_norm_tensor(const std::string& name) { return name.ends_with("norm.weight"); }

}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
  std::string model_path, tensor_name;
  bool ln = false, as_json = false;
  po::options_description opts("tern inspect MODEL [options]");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&model_path), "model file or checkpoint directory")
      ("tensor", po::value(&tensor_name), "statistics of one tensor")
      ("ln", po::bool_switch(&ln), "RMS of every norm weight; flags those outside [0.5, 2.0]")
      ("json", po::bool_switch(&as_json), "machine-readable output");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end())).options(opts).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::printf("%s", (std::ostringstream() << opts).str().c_str());
    return 0;
  }
  if (model_path.empty()) throw Error("tern inspect: give a MODEL");
  auto mf = load_model_file(model_path);

  if (!tensor_name.empty()) {
    const auto* t = mf->find(tensor_name);
    if (!t) throw Error(model_path + ": no tensor named " + tensor_name);
    const auto s = tensor_stats(*t);
    if (as_json) {
      std::printf("%s\n", json{{"name", t->name}, {"dtype", dtype_name(t->type)}, {"shape", t->ne}, {"mean", s.mean},
                               {"std", s.std}, {"min", s.min}, {"max", s.max}, {"rms", s.rms}, {"frac_zero", s.frac_zero},
                               {"frac_pm_one", s.frac_pm_one}, {"nan", s.nan}, {"inf", s.inf}}.dump(2).c_str());
    } else {
      std::printf("%s %s %s\nmean=%.6g std=%.6g min=%.6g max=%.6g rms=%.6g\nzeros=%.4f", t->name.c_str(),
                  dtype_name(t->type), t->shape_string().c_str(), s.mean, s.std, s.min, s.max, s.rms, s.frac_zero);
      if (dtype_traits(t->type)->ternary) std::printf(" +-1=%.4f", s.frac_pm_one);
      std::printf(" nan=%llu inf=%llu\n", (unsigned long long)s.nan, (unsigned long long)s.inf);
    }
    return 0;
  }
  if (ln) {
    json out = json::array();
    int suspicious = 0;
    for (const auto& t : mf->tensors) {
      if (!is_norm_tensor(t.name)) continue;
      const double rms = tensor_stats(t).rms;
      const bool ok = rms >= 0.5 && rms <= 2.0;
      suspicious += !ok;
      const std::string name = t.name.substr(0, t.name.size() - 7);  // drop ".weight"
      if (as_json) out.push_back({{"name", name}, {"rms", rms}, {"healthy", ok}});
      else std::printf("%-28s rms=%.3f%s\n", name.c_str(), rms, ok ? "" : "  SUSPICIOUS (outside [0.5, 2.0])");
    }
    if (as_json) std::printf("%s\n", out.dump(2).c_str());
    else std::printf("%d suspicious norm weight(s)\n", suspicious);
    return 0;
  }
  if (as_json) {
    json meta = json::object(), tensors = json::array();
    for (const auto& [k, v] : mf->meta) meta[k] = v.to_string(16);
    for (const auto& t : mf->tensors)
      tensors.push_back({{"name", t.name}, {"dtype", dtype_name(t.type)}, {"shape", t.ne}, {"bytes", t.nbytes}});
    std::printf("%s\n", json{{"path", mf->path}, {"format", mf->format}, {"metadata", meta}, {"tensors", tensors}}.dump(2).c_str());
    return 0;
  }
  std::printf("%s (%s%s)\n\nmetadata:\n", mf->path.c_str(), mf->format.c_str(),
              mf->version ? (" v" + std::to_string(mf->version)).c_str() : "");
  for (const auto& [k, v] : mf->meta) std::printf("  %-44s %s\n", k.c_str(), v.to_string(8).c_str());
  uint64_t total = 0;
  std::printf("\n%-40s %-6s %-22s %12s\n", "tensor", "dtype", "shape", "bytes");
  for (const auto& t : mf->tensors) {
    std::printf("%-40s %-6s %-22s %12zu\n", t.name.c_str(), dtype_name(t.type), t.shape_string().c_str(), t.nbytes);
    total += t.nbytes;
  }
  std::printf("%zu tensors, %.2f MiB\n", mf->tensors.size(), double(total) / (1 << 20));
  return 0;
}

}  // namespace tern::cli
