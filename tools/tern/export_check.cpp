#include "export_check.h"

#include <algorithm>
#include <cmath>

#include "tern/arch.h"
#include "tern/error.h"
#include "tern/generate.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/tokenizer.h"
#include "tool_util.h"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern::cli {
namespace {

constexpr const char* kProbe = "Once upon a time";

struct Run {
  std::vector<int32_t> prompt, tokens;
  std::vector<float> first_logits;
  std::string text;
};

Run run_greedy(std::unique_ptr<ModelFile> file, size_t tokens) {
  auto tokenizer = Tokenizer::from_model_file(*file);
  Model model(std::move(file), Registry::instance().backend(""));
  Run r;
  r.prompt = tokenizer->encode(kProbe, tokenizer->vocab().add_bos);
  {
    Session s(model, r.prompt.size() + 1, 1);
    r.first_logits = s.eval(r.prompt);
  }
  const GreedyResult g = generate_greedy(model, *tokenizer, kProbe, tokens, 1);
  r.tokens = g.tokens;
  r.text = g.text;
  return r;
}

}  // namespace

ExportCheck check_export(const ModelFile& source, const fs::path& written, const fs::path& final_path,
                         const std::string& format, size_t tokens) {
  ExportCheck c;
  ordered_json checks = ordered_json::object();
  std::unique_ptr<ModelFile> out;
  try {
    out = load_model_file(written);
    checks["loads"] = true;
  } catch (const Error& e) {
    std::string why = e.what();
    // The staging directory is an implementation detail: name the final path.
    const std::string staged = written.string();
    if (auto at = why.find(staged); at != std::string::npos)
      why.replace(at, staged.size(), final_path.string());
    checks["loads"] = false;
    checks["error"] = why;
    c.report = {
        {"format", format}, {"path", final_path.string()}, {"format_checks", checks}, {"passed", false}};
    return c;
  }
  checks["reader"] = out->format;
  checks["tensors"] = out->tensors.size();
  const std::string arch = source.get_string("general.architecture");
  bool same_names = out->tensors.size() == source.tensors.size();
  for (const auto& t : source.tensors) {
    const TensorInfo* o = out->find(t.name);
    same_names = same_names && o && o->ne == t.ne;
  }
  checks["same_tensors_and_shapes"] = same_names;
  bool same_hparams = find_arch(out->get_string("general.architecture")) != nullptr;
  const std::string a = out->get_string("general.architecture") + ".", b = arch + ".";
  for (const auto& h : hparam_namings()) {
    const MetaValue *x = out->get(a + h.gguf), *y = source.get(b + h.gguf);
    if (!x || !y) continue;
    same_hparams =
        same_hparams && (h.real ? float(x->as_float()) == float(y->as_float()) : x->as_int() == y->as_int());
  }
  checks["same_hyperparameters"] = same_hparams;
  const bool vocab =
      out->get("tokenizer.ggml.tokens") && source.get("tokenizer.ggml.tokens") &&
      out->get("tokenizer.ggml.tokens")->arr.size() == source.get("tokenizer.ggml.tokens")->arr.size();
  checks["same_vocabulary_size"] = vocab;
  c.format_ok = same_names && same_hparams && vocab;

  ordered_json inference = nullptr;
  c.inference_ok = true;
  if (tokens && c.format_ok) {
    const Run want = run_greedy(std::make_unique<ModelFile>(source), tokens);
    const Run got = run_greedy(std::move(out), tokens);
    float diff = want.first_logits.size() == got.first_logits.size() ? 0.0f : INFINITY;
    for (size_t i = 0; std::isfinite(diff) && i < want.first_logits.size(); ++i)
      diff = std::max(diff, std::fabs(want.first_logits[i] - got.first_logits[i]));
    c.inference_ok = want.prompt == got.prompt && want.tokens == got.tokens;
    inference = {{"prompt", kProbe},
                 {"same_prompt_tokens", want.prompt == got.prompt},
                 {"greedy_tokens", tokens},
                 {"greedy_match", want.tokens == got.tokens},
                 {"max_first_logit_diff",
                  std::isfinite(diff) ? ordered_json(diff) : ordered_json("vocabulary differs")},
                 {"source_text", want.text},
                 {"export_text", got.text}};
  }
  c.report = {{"format", format},
              {"path", final_path.string()},
              {"format_checks", checks},
              {"inference", inference},
              {"passed", c.format_ok && c.inference_ok}};
  return c;
}

}  // namespace tern::cli
