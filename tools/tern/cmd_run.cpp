#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "chat_loop.h"
#include "commands.h"
#include "interrupt.h"
#include "tern/error.h"
#include "tern/generate.h"
#include "tern/health.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/sampler.h"
#include "tern/tokenizer.h"
#include "tool_util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace tern::cli {

std::string default_model_path() {
  const char* name = "SmolLM2-135M-Instruct.Q4_1.gguf";
  if (const char* env = std::getenv("TERN_MODEL")) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& base :
       {fs::current_path(), exe.parent_path() / ".." / "..", exe.parent_path() / ".."}) {
    const fs::path p = base / "models" / name;
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  throw Error(std::string("no -m given and the default model models/") + name +
              " was not found (run scripts/setup.sh, or set TERN_MODEL)");
}

int cmd_run(const std::vector<std::string>& raw_args) {
  const std::vector<std::string> args = llama_style_options(raw_args);
  std::string model_path, prompt, backend_name, tokenizer_path, prompt_file, system_prompt, logits_out,
      cache_k = "f16", cache_v = "f16";
  bool conversation = false;
  int64_t n_predict = 128, threads_opt = int64_t(default_threads()), n_ctx_opt = 0, top_k = 40,
          repeat_last_n = 64;
  std::vector<std::string> stop;
  SamplerParams sp;
  bool verbose = false, check_tensors = false, mmap_weights = false, no_repack = false;
  po::options_description opts("tern run [options]");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&model_path),
                                                 "model file (GGUF) or Hugging Face checkpoint directory")(
      "prompt,p", po::value(&prompt), "prompt text (default: stdin when it is not a terminal)")(
      "file,f", po::value(&prompt_file), "read the prompt from a file")(
      "conversation", po::bool_switch(&conversation), "-cnv: chat with the model's template; /exit ends")(
      "system", po::value(&system_prompt), "-sys: a system message for the conversation")(
      "n-predict,n", po::value(&n_predict)->default_value(128), "tokens to generate")(
      "temp", po::value(&sp.temperature)->default_value(0.8f, "0.8"), "sampling temperature; 0 = greedy")(
      "top-k", po::value(&top_k)->default_value(40), "top-k sampling (0 = off)")(
      "top-p", po::value(&sp.top_p)->default_value(0.95f, "0.95"), "top-p sampling (1 = off)")(
      "min-p", po::value(&sp.min_p)->default_value(0.05f, "0.05"),
      "min-p sampling: drop tokens below min-p x the top one's p (0 = off)")(
      "repeat-penalty", po::value(&sp.repeat_penalty)->default_value(1.0f, "1.0"),
      "penalize repeats of recent tokens (1 = off)")(
      "repeat-last-n", po::value(&repeat_last_n)->default_value(64),
      "how many recent tokens the penalties look at (0 = off, -1 = the context)")(
      "presence-penalty", po::value(&sp.presence_penalty)->default_value(0.0f, "0.0"),
      "lower the logit of every recent token (0 = off)")(
      "frequency-penalty", po::value(&sp.frequency_penalty)->default_value(0.0f, "0.0"),
      "lower a recent token's logit per occurrence (0 = off)")(
      "stop", po::value(&stop)->composing(),
      "stop when the output contains this string (repeatable; not printed)")(
      "seed", po::value(&sp.seed)->default_value(42), "random seed")("threads,t", po::value(&threads_opt),
                                                                     "worker threads (default: all cores)")(
      "backend", po::value(&backend_name), "kernel backend to use (default: best for this CPU)")(
      "tokenizer", po::value(&tokenizer_path), "tokenizer file overriding the model's own")(
      "mmap", po::bool_switch(&mmap_weights), kMmapHelp)("no-repack", po::bool_switch(&no_repack),
                                                         kNoRepackHelp)(
      "ctx,c", po::value(&n_ctx_opt), "context length (default: min(model's, 2048))")(
      "cache-type-k", po::value(&cache_k)->default_value("f16"), kKvCacheTypeHelp)(
      "cache-type-v", po::value(&cache_v)->default_value("f16"), kKvCacheTypeHelp)(
      "logits-out", po::value(&logits_out),
      "write the prompt's token ids, every step's logits and the generated ids to this JSON file")(
      "check-tensors", po::bool_switch(&check_tensors),
      "refuse a model with NaN / Inf weights (reads every tensor)")("verbose,v", po::bool_switch(&verbose),
                                                                    "print model and backend details");
  po::variables_map vm;
  po::positional_options_description pos;
  pos.add("model", 1);
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  option_in_range("n-predict", n_predict, 0, 1 << 20);
  const size_t threads = option_threads("threads", threads_opt);
  size_t n_ctx = size_t(option_in_range("ctx", n_ctx_opt, 0, 1 << 20));
  sp.top_k = int(option_in_range("top-k", top_k, 0, 1 << 24));
  option_in_range("temp", double(sp.temperature), 0.0, 100.0);
  option_in_range("top-p", double(sp.top_p), 0.0, 1.0);
  option_in_range("min-p", double(sp.min_p), 0.0, 1.0);
  option_in_range("repeat-penalty", double(sp.repeat_penalty), 0.0, 100.0);
  if (sp.repeat_penalty == 0.0f) throw Error("--repeat-penalty must be above 0 (1 turns it off)");
  option_in_range("presence-penalty", double(sp.presence_penalty), -2.0, 2.0);
  option_in_range("frequency-penalty", double(sp.frequency_penalty), -2.0, 2.0);
  sp.repeat_last_n = int(option_in_range("repeat-last-n", repeat_last_n, -1, 1 << 20));
  const KvCacheTypes cache{kv_cache_type_option("cache-type-k", cache_k),
                           kv_cache_type_option("cache-type-v", cache_v)};
  for (const auto& s : stop)
    if (s.empty()) throw Error("--stop is empty");
  if (vm.count("model") && model_path.empty()) throw Error("-m / --model is empty");
  if (vm.count("backend") && backend_name.empty()) throw Error("--backend is empty (see 'tern backends')");
  if (vm.count("tokenizer") && tokenizer_path.empty()) throw Error("--tokenizer is empty");
  if (model_path.empty()) model_path = default_model_path();
  if (vm.count("prompt") + vm.count("file") > 1) throw Error("give the prompt with -p or -f, not both");
  if (conversation && (vm.count("prompt") || vm.count("file")))
    throw Error(
        "-cnv reads the conversation from the terminal: drop -p / -f (use -sys for a system message)");
  if (!conversation && vm.count("system")) throw Error("-sys / --system needs -cnv / --conversation");
  if (vm.count("file")) prompt = read_text_file(prompt_file);
  if (!conversation && !vm.count("prompt") && !vm.count("file") && !isatty(STDIN_FILENO))
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());

  using clock = std::chrono::steady_clock;
  const auto t_load = clock::now();
  auto& reg = Registry::instance();
  std::string why;
  auto backend = reg.backend(backend_name, &why);
  auto file = load_model_file(model_path);
  if (check_tensors)
    if (const std::string bad = find_non_finite(*file); !bad.empty()) throw Error(model_path + ": " + bad);
  auto tokenizer =
      tokenizer_path.empty() ? Tokenizer::from_model_file(*file) : Tokenizer::from_file(tokenizer_path);
  Model model(std::move(file), backend, mmap_weights ? WeightPlacement::Mapped : WeightPlacement::Memory,
              no_repack ? WeightLayout::File : WeightLayout::Backend);
  const auto& hp = model.hparams();
  check_tokenizer_matches(*tokenizer, model, model_path);
  if (n_ctx == 0) n_ctx = std::min<size_t>(hp.n_ctx_train ? hp.n_ctx_train : 2048, 2048);
  if (hp.n_ctx_train && n_ctx > hp.n_ctx_train)
    std::fprintf(stderr, "tern: warning: --ctx %zu exceeds the %zu tokens the model was trained on\n", n_ctx,
                 size_t(hp.n_ctx_train));
  if (conversation) {
    ChatSetup chat;
    chat.model_path = model_path;
    chat.chat_template = model.file().get_string("tokenizer.chat_template");
    if (chat.chat_template.empty())
      throw Error(model_path + ": the model has no tokenizer.chat_template, which -cnv needs");
    chat.system_prompt = system_prompt;
    chat.sampler = sp;
    chat.n_predict = int(n_predict);
    chat.stop = stop;
    Session session(model, n_ctx, threads, cache);
    return run_conversation(chat, session, *tokenizer);
  }
  const auto tokens = tokenizer->encode(prompt, tokenizer->vocab().add_bos);
  if (tokens.empty()) throw Error("empty prompt and the tokenizer adds no BOS token; give -p TEXT");
  if (tokens.size() + size_t(n_predict) > n_ctx)
    throw Error("prompt (" + std::to_string(tokens.size()) + " tokens) plus -n " + std::to_string(n_predict) +
                " exceeds the context of " + std::to_string(n_ctx) + " (raise --ctx)");
  Session session(model, n_ctx, threads, cache);
  const double load_s = std::chrono::duration<double>(clock::now() - t_load).count();
  if (verbose) {
    std::string chosen = backend_name;
    if (chosen.empty()) chosen = reg.usable_backends().front();
    std::fprintf(
        stderr,
        "backend: %s (%s)\nmodel: %s [%s, %zu layers, dim %zu, %zu heads/%zu kv, ffn %zu, vocab %zu]\n",
        chosen.c_str(), why.c_str(), model_path.c_str(), hp.arch.c_str(), hp.n_layer, hp.n_embd, hp.n_head,
        hp.n_head_kv, hp.n_ff, hp.n_vocab);
    std::fprintf(stderr, "prompt tokens:");
    for (auto t : tokens) std::fprintf(stderr, " %d", t);
    std::fprintf(stderr, "\n");
  }

  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  Sampler sampler(sp);
  sampler.accept(tokens);
  StopStrings stops(stop);
  InterruptGuard interrupt;  // Ctrl-C ends the generation, and the timing line is still printed
  const auto t0 = clock::now();
  const std::vector<float>* logits = &session.eval(tokens);
  auto finite = [&] {
    return std::all_of(logits->begin(), logits->end(), [](float x) { return std::isfinite(x); });
  };
  const double prompt_s = std::chrono::duration<double>(clock::now() - t0).count();
  const auto t1 = clock::now();
  int generated = 0;
  nlohmann::json record = {
      {"prompt_tokens", tokens}, {"logits", nlohmann::json::array()}, {"tokens", nlohmann::json::array()}};
  for (; generated < n_predict && !interrupted(); ++generated) {
    // NaN logits make every sample meaningless (greedy would silently print nothing): a broken model.
    if (!finite())
      throw Error(model_path + ": the model produced NaN / Inf logits at token " + std::to_string(generated) +
                  " (run with --check-tensors to find a broken weight)");
    if (!logits_out.empty()) record["logits"].push_back(*logits);
    const int32_t next = sampler.sample(*logits);
    sampler.accept(next);
    if (!logits_out.empty()) record["tokens"].push_back(next);
    if (tokenizer->is_end_of_generation(next)) break;
    std::fputs(stops.feed(tokenizer->token_to_piece(next)).c_str(), stdout);
    std::fflush(stdout);
    if (stops.stopped()) {
      ++generated;
      break;
    }
    if (generated + 1 < n_predict) logits = &session.eval({next});
  }
  std::fputs(stops.flush().c_str(), stdout);
  const double gen_s = std::chrono::duration<double>(clock::now() - t1).count();
  std::fputs("\n", stdout);
  // A full disk or closed pipe must not look like success.
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw Error(std::string("writing the generated text to stdout failed: ") + std::strerror(errno));
  if (!logits_out.empty()) {
    std::ofstream out(logits_out);
    out << record.dump();
    if (!out.flush()) throw Error(logits_out + ": cannot write");
  }
  std::fprintf(stderr, "load %.2f s | prompt %zu tokens, %.1f tok/s | generation %d tokens, %.1f tok/s\n",
               load_s, tokens.size(), double(tokens.size()) / std::max(prompt_s, 1e-9), generated,
               double(generated) / std::max(gen_s, 1e-9));
  return 0;
}

}  // namespace tern::cli
