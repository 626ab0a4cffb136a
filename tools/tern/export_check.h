#pragma once
// The validation report of one exported model: does it read back (format checks), and does it generate what
// the source generates (inference test, first-step logits against the source's).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tern/model_file.h"

namespace tern::cli {

struct ExportCheck {
  nlohmann::ordered_json report;
  bool format_ok = false;     // it loads through tern's reader with the source's tensors and hyper-parameters
  bool inference_ok = false;  // the same greedy tokens as the source (true when no tokens were asked for)
};

// `written` is where the export is now (staged); `final_path` is where it will be, for the report.
ExportCheck check_export(const ModelFile& source, const std::filesystem::path& written,
                         const std::filesystem::path& final_path, const std::string& format, size_t tokens);

}  // namespace tern::cli
