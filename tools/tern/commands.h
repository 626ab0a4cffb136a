#pragma once
#include <string>
#include <vector>

namespace tern::cli {

// Each subcommand gets its own arguments (argv[0] is the subcommand name) and returns the exit code.
int cmd_run(const std::vector<std::string>& args);
int cmd_backends(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_validate(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_baseline(const std::vector<std::string>& args);
int cmd_manifest(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_synth(const std::vector<std::string>& args);
int cmd_template(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_serve(const std::vector<std::string>& args);

// models/<default> next to the working directory or the source tree the binary was built in.
std::string default_model_path();

}  // namespace tern::cli
