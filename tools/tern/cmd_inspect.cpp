#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "tern/error.h"
#include "tern/health.h"
#include "tern/registry.h"
#include "tool_util.h"

namespace po = boost::program_options;
using nlohmann::json;

namespace tern::cli {

int cmd_inspect(const std::vector<std::string>& args) {
  std::string model_path, tensor_name;
  bool ln = false, as_json = false;
  po::options_description opts("tern inspect MODEL [options]");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&model_path),
                                                 "model file or checkpoint directory")(
      "tensor", po::value(&tensor_name), "statistics of one tensor")(
      "ln", po::bool_switch(&ln), "RMS of every norm weight; flags those outside [0.5, 2.0]")(
      "json", po::bool_switch(&as_json), "machine-readable output");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (model_path.empty()) throw Error("tern inspect: give a MODEL");
  auto mf = load_model_file(model_path);

  if (!tensor_name.empty()) {
    const auto* t = mf->find(tensor_name);
    if (!t) throw Error(model_path + ": no tensor named " + tensor_name);
    const auto s = tensor_stats(*t);
    if (as_json) {
      std::printf("%s\n", json{{"name", t->name},
                               {"dtype", dtype_name(t->type)},
                               {"shape", t->ne},
                               {"mean", s.mean},
                               {"std", s.std},
                               {"min", s.min},
                               {"max", s.max},
                               {"rms", s.rms},
                               {"frac_zero", s.frac_zero},
                               {"frac_pm_one", s.frac_pm_one},
                               {"nan", s.nan},
                               {"inf", s.inf}}
                              .dump(2)
                              .c_str());
    } else {
      std::printf("%s %s %s\nmean=%.6g std=%.6g min=%.6g max=%.6g rms=%.6g\nzeros=%.4f", t->name.c_str(),
                  dtype_name(t->type), t->shape_string().c_str(), s.mean, s.std, s.min, s.max, s.rms,
                  s.frac_zero);
      if (dtype_traits(t->type)->ternary) std::printf(" +-1=%.4f", s.frac_pm_one);
      std::printf(" nan=%llu inf=%llu\n", (unsigned long long)s.nan, (unsigned long long)s.inf);
    }
    return 0;
  }
  if (ln) {
    json out = json::array();
    int suspicious = 0;
    // Unlike validate, inspect flags the final norm too: it shows the rule, validate applies judgement.
    for (const auto& c : check_norms(*mf, 0.5, 2.0, true)) {
      const double rms = c.rms;
      const bool ok = rms >= 0.5 && rms <= 2.0;
      suspicious += !ok;
      const std::string& name = c.name;
      if (as_json)
        out.push_back({{"name", name}, {"rms", rms}, {"healthy", ok}});
      else
        std::printf("%-28s rms=%.3f%s\n", name.c_str(), rms, ok ? "" : "  SUSPICIOUS (outside [0.5, 2.0])");
    }
    if (as_json)
      std::printf("%s\n", out.dump(2).c_str());
    else
      std::printf("%d suspicious norm weight(s)\n", suspicious);
    return 0;
  }
  if (as_json) {
    json meta = json::object(), tensors = json::array();
    for (const auto& [k, v] : mf->meta) meta[k] = v.to_string(16);
    for (const auto& t : mf->tensors)
      tensors.push_back(
          {{"name", t.name}, {"dtype", dtype_name(t.type)}, {"shape", t.ne}, {"bytes", t.nbytes}});
    std::printf("%s\n",
                json{{"path", mf->path}, {"format", mf->format}, {"metadata", meta}, {"tensors", tensors}}
                    .dump(2)
                    .c_str());
    return 0;
  }
  std::printf("%s (%s%s)\n\nmetadata:\n", mf->path.c_str(), mf->format.c_str(),
              mf->version ? (" v" + std::to_string(mf->version)).c_str() : "");
  for (const auto& [k, v] : mf->meta) std::printf("  %-44s %s\n", k.c_str(), v.to_string(8).c_str());
  uint64_t total = 0;
  std::printf("\n%-40s %-6s %-22s %12s\n", "tensor", "dtype", "shape", "bytes");
  for (const auto& t : mf->tensors) {
    std::printf("%-40s %-6s %-22s %12zu\n", t.name.c_str(), dtype_name(t.type), t.shape_string().c_str(),
                t.nbytes);
    total += t.nbytes;
  }
  std::printf("%zu tensors, %.2f MiB\n", mf->tensors.size(), double(total) / (1 << 20));
  return 0;
}

}  // namespace tern::cli
