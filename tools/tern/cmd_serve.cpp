// `tern serve`: an OpenAI-compatible HTTP server with continuous batching (serve/).
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "commands.h"
#include "serve/engine.h"
#include "serve/http_server.h"
#include "serve/openai_api.h"
#include "tern/chat_template.h"
#include "tern/error.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/tokenizer.h"
#include "tool_util.h"

namespace po = boost::program_options;

namespace tern::cli {

int cmd_serve(const std::vector<std::string>& raw_args) {
  const std::vector<std::string> args = llama_style_options(raw_args);
  std::string model_path, backend_name, alias, cache_k = "f16", cache_v = "f16";
  serve::ServerOptions so;
  bool mmap_weights = false, no_repack = false;
  int64_t port = 8080, parallel = 4, n_ctx_opt = 0, threads_opt = int64_t(default_threads()),
          max_body = 1 << 20, max_connections = 64, idle = 30;
  po::options_description opts("tern serve [MODEL] [options]");
  opts.add_options()("help,h", "show this help")("model,m", po::value(&model_path),
                                                 "model file (GGUF) or Hugging Face checkpoint directory")(
      "host", po::value(&so.host)->default_value("127.0.0.1"), "address to listen on")(
      "port", po::value(&port)->default_value(8080), "port (0: any free one, printed at start)")(
      "parallel,np", po::value(&parallel)->default_value(4), "-np: slots, requests decoded together")(
      "ctx,c", po::value(&n_ctx_opt), "context per slot (default: min(model's, 4096))")(
      "cache-type-k", po::value(&cache_k)->default_value("f16"), kKvCacheTypeHelp)(
      "cache-type-v", po::value(&cache_v)->default_value("f16"), kKvCacheTypeHelp)(
      "threads,t", po::value(&threads_opt), "worker threads (default: all cores)")(
      "backend", po::value(&backend_name), "kernel backend (default: best for this CPU)")(
      "mmap", po::bool_switch(&mmap_weights), kMmapHelp)("no-repack", po::bool_switch(&no_repack),
                                                         kNoRepackHelp)(
      "alias", po::value(&alias), "model name in the API (default: the file name)")(
      "api-key", po::value(&so.api_key), "require 'Authorization: Bearer KEY' on /v1/*")(
      "max-body", po::value(&max_body)->default_value(1 << 20), "largest request body in bytes (413 above)")(
      "max-connections", po::value(&max_connections)->default_value(64), "open connections (503 above)")(
      "idle-timeout", po::value(&idle)->default_value(30), "seconds a keep-alive connection may idle");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  so.port = uint16_t(option_in_range("port", port, 0, 65535));
  const size_t n_slots = size_t(option_in_range("parallel", parallel, 1, 64));
  size_t n_ctx = size_t(option_in_range("ctx", n_ctx_opt, 0, 1 << 20));
  const size_t threads = option_threads("threads", threads_opt);
  const KvCacheTypes cache{kv_cache_type_option("cache-type-k", cache_k),
                           kv_cache_type_option("cache-type-v", cache_v)};
  so.max_body_bytes = size_t(option_in_range("max-body", max_body, 1024, int64_t(1) << 30));
  so.max_connections = size_t(option_in_range("max-connections", max_connections, 1, 4096));
  so.idle_timeout_s = int(option_in_range("idle-timeout", idle, 1, 3600));
  if (vm.count("api-key") && so.api_key.empty()) throw Error("--api-key is empty");
  if (model_path.empty()) model_path = default_model_path();

  auto backend = Registry::instance().backend(backend_name);
  auto file = load_model_file(model_path);
  auto tokenizer = Tokenizer::from_model_file(*file);
  Model model(std::move(file), backend, mmap_weights ? WeightPlacement::Mapped : WeightPlacement::Memory,
              no_repack ? WeightLayout::File : WeightLayout::Backend);
  const auto& hp = model.hparams();
  if (n_ctx == 0) n_ctx = std::min<size_t>(hp.n_ctx_train ? hp.n_ctx_train : 4096, 4096);
  if (hp.n_ctx_train && n_ctx > hp.n_ctx_train)
    std::fprintf(stderr, "tern: warning: --ctx %zu exceeds the %zu tokens the model was trained on\n", n_ctx,
                 size_t(hp.n_ctx_train));
  std::optional<ChatTemplate> tmpl;
  if (const std::string src = model.file().get_string("tokenizer.chat_template"); !src.empty())
    tmpl.emplace(src, model_path);
  else
    std::fprintf(stderr, "tern serve: %s has no chat template: only /v1/completions will answer\n",
                 model_path.c_str());
  if (alias.empty()) alias = std::filesystem::path(model_path).filename().string();
  serve::ApiContext api{*tokenizer,
                        tmpl ? &*tmpl : nullptr,
                        alias,
                        n_ctx,
                        token_text(*tokenizer, tokenizer->bos()),
                        token_text(*tokenizer, tokenizer->eos())};
  serve::Engine engine(model, *tokenizer, n_slots, n_ctx, threads, cache);
  std::fprintf(stderr, "tern serve: %s, %zu slots of %zu tokens, %zu threads\n", alias.c_str(), n_slots,
               n_ctx, threads);
  return serve::run_http_server(so, engine, api);
}

}  // namespace tern::cli
