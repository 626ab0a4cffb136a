#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "tern/cpu_features.h"
#include "tern/error.h"
#include "tern/registry.h"
#include "tool_util.h"

namespace po = boost::program_options;

namespace tern::cli {

int cmd_backends(const std::vector<std::string>& args) {
  po::options_description opts("tern backends");
  opts.add_options()("help,h", "show this help");
  po::variables_map vm;
  if (!parse_command_line(args, opts, {}, vm)) return 0;
  const auto& cpu = cpu_features();
  std::printf("CPU: %s%s%s\nfeatures (%s): %s\n", cpu.arch.c_str(), cpu.model.empty() ? "" : ", ",
              cpu.model.c_str(), cpu.source.c_str(),
              cpu.flags.empty() ? "(none)" : cpu.flags_string().c_str());
  if (cpu.vector_bits) std::printf("vector length: %zu bits (VLEN)\n", cpu.vector_bits);
  std::printf("\n");
  auto& reg = Registry::instance();
  int requires_width =
      8;  // the REQUIRES column is as wide as its longest entry (AVX-512 lists seven features)
  for (const auto& r : reg.plugins())
    requires_width = std::max(requires_width, int(r.requires_features.size()));
  std::printf("%-8s %-16s %-8s %-9s %-*s %s\n", "KIND", "NAME", "PRIORITY", "STATUS", requires_width,
              "REQUIRES", "PATH");
  for (const auto& r : reg.plugins()) {
    std::printf("%-8s %-16s %-8s %-9s %-*s %s\n", r.kind.empty() ? "?" : r.kind.c_str(), r.name.c_str(),
                r.kind == "backend" ? std::to_string(r.priority).c_str() : "-",
                r.usable ? "usable" : "skipped", requires_width,
                r.requires_features.empty() ? "-" : r.requires_features.c_str(), r.path.c_str());
    if (!r.problem.empty()) std::printf("         skipped: %s\n", r.problem.c_str());
  }
  if (reg.plugins().empty()) {
    std::printf("(no plugins found; searched:");
    for (const auto& d : reg.search_path()) std::printf(" %s", d.c_str());
    std::printf(")\n");
  }
  std::string why;
  try {
    auto be = reg.backend("", &why);
    std::printf("\nchosen backend: %s (%s)\n", reg.usable_backends().front().c_str(), why.c_str());
  } catch (const Error& e) {
    std::printf("\nchosen backend: none (%s)\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace tern::cli
