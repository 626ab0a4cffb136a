#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "commands.h"
#include "tern/arch.h"
#include "tern/error.h"
#include "tern/memory_bandwidth.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tool_util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern::cli {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Bytes of weights one generated token reads: every projection and norm, the whole LM head (the token
// embedding when tied) and one embedding row.
uint64_t weight_bytes_per_token(const ModelFile& f) {
  const std::string embd_name = tensor_name({TensorRole::TokenEmbd}),
                    output_name = tensor_name({TensorRole::Output});
  uint64_t bytes = 0;
  for (const auto& t : f.tensors)
    if (t.name != embd_name) bytes += t.nbytes;
  if (const auto* embd = f.find(embd_name))
    bytes += f.find(output_name) ? embd->nbytes / std::max<uint64_t>(1, embd->n_rows()) : embd->nbytes;
  return bytes;
}

// Multiply-adds of one prompt token in the weight matrices: every matrix but the LM head, which a prompt runs
// for its last token only (attention, which grows with the context, is not counted).
uint64_t matmul_macs_per_prompt_token(const ModelFile& f) {
  uint64_t macs = 0;
  for (const auto& t : f.tensors)
    if (t.ne.size() == 2 && t.name != tensor_name({TensorRole::TokenEmbd}) &&
        t.name != tensor_name({TensorRole::Output}))
      macs += t.n_elements();
  return macs;
}

struct Stat {
  double mean = 0, sd = 0;
};
Stat stat(const std::vector<double>& v) {
  Stat s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / double(v.size() - 1)) : 0;
  return s;
}

std::vector<std::string> split_list(const std::string& s, const char* what) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  if (out.empty()) throw Error(std::string("tern bench: empty ") + what);
  return out;
}

std::vector<size_t> parse_list(const std::string& s, const char* what, bool allow_zero = false) {
  std::vector<size_t> out;
  for (const std::string& item : split_list(s, what)) {
    try {
      size_t pos = 0;
      const long long v = std::stoll(item, &pos);
      if (pos != item.size() || v < (allow_zero ? 0 : 1)) throw std::invalid_argument(item);
      out.push_back(size_t(v));
    } catch (const std::exception&) {
      throw Error(std::string("tern bench: ") + what + " must be a comma-separated list of " +
                  (allow_zero ? "numbers >= 0" : "positive numbers") + ", not '" + s + "'");
    }
  }
  return out;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& raw_args) {
  const std::vector<std::string> args = llama_style_options(raw_args);
  std::string model_path, threads_s = std::to_string(default_threads()), depth_s = "0", cache_k_s = "f16",
                          cache_v_s = "f16";
  std::vector<std::string> backends;
  int64_t n_prompt_opt = 128, n_gen_opt = 64, reps_opt = 3;
  bool as_json = false, bandwidth = false, mmap_weights = false, no_repack = false;
  po::options_description opts(
      "tern bench -m MODEL [options]\n"
      "Prompt processing (pp: N tokens in one batch) and generation (tg: N tokens one at a time)\n"
      "in tokens/s, for each usable backend and thread count, like llama-bench");
  // clang-format off
  opts.add_options()
      ("help,h", "show this help")
      ("model,m", po::value(&model_path), "model file")
      ("backend", po::value(&backends)->composing(), "backend to measure (repeatable; default: every usable one)")
      ("n-prompt,p", po::value(&n_prompt_opt)->default_value(128), "prompt tokens for pp (0: skip)")
      ("n-gen,n", po::value(&n_gen_opt)->default_value(64), "generated tokens for tg (0: skip)")
      ("threads,t", po::value(&threads_s), "thread counts, comma-separated (default: all cores)")
      ("depth,d", po::value(&depth_s), "tokens already in the KV cache when each test starts, comma-separated "
                                       "(default 0; like llama-bench -d: speed at a long context)")
      ("cache-type-k", po::value(&cache_k_s), "KV cache types of the keys, comma-separated (f32, f16, q8_0; "
                                              "default f16; -ctk)")
      ("cache-type-v", po::value(&cache_v_s), "KV cache types of the values, comma-separated (default f16; -ctv); "
                                              "every pair of k and v types is measured")
      ("repetitions,r", po::value(&reps_opt)->default_value(3), "repetitions of each test")
      ("mmap", po::bool_switch(&mmap_weights), kMmapHelp)
      ("no-repack", po::bool_switch(&no_repack), kNoRepackHelp)
      ("bandwidth", po::bool_switch(&bandwidth), "also measure memory read bandwidth and the tg bound it implies")
      ("json", po::bool_switch(&as_json), "JSON on stdout instead of a table");
  // clang-format on
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (model_path.empty()) throw Error("tern bench: give -m MODEL");
  const size_t n_prompt = size_t(option_in_range("n-prompt", n_prompt_opt, 0, 1 << 16));
  const size_t n_gen = size_t(option_in_range("n-gen", n_gen_opt, 0, 1 << 16));
  const size_t reps = size_t(option_in_range("repetitions", reps_opt, 1, 1000));
  const auto thread_counts = parse_list(threads_s, "--threads");
  for (size_t t : thread_counts) option_threads("threads", int64_t(t));
  const auto depths = parse_list(depth_s, "--depth", true);
  for (size_t d : depths) option_in_range("depth", int64_t(d), 0, 1 << 20);
  std::vector<KvCacheTypes> caches;
  for (const auto& k : split_list(cache_k_s, "--cache-type-k"))
    for (const auto& v : split_list(cache_v_s, "--cache-type-v"))
      caches.push_back({kv_cache_type_option("cache-type-k", k), kv_cache_type_option("cache-type-v", v)});
  auto& reg = Registry::instance();
  if (backends.empty()) backends = reg.usable_backends();

  ordered_json results = ordered_json::array();
  const uint64_t file_bytes = model_bytes(model_path);
  std::string model_desc;
  uint64_t per_token = 0, prompt_macs = 0, kv_bytes_max = 0;
  if (!as_json)
    std::printf("| %-34s | %9s | %-10s | %7s | %-9s | %13s | %16s |\n|%s|%s|%s|%s|%s|%s|%s|\n", "model",
                "size", "backend", "threads", "kv", "test", "t/s", std::string(36, '-').c_str(),
                std::string(11, '-').c_str(), std::string(12, '-').c_str(), std::string(9, '-').c_str(),
                std::string(11, '-').c_str(), std::string(15, '-').c_str(), std::string(18, '-').c_str());
  std::mt19937 rng(1234);
  for (const auto& be_name : backends) {
    auto file = load_model_file(model_path);
    per_token = weight_bytes_per_token(*file);
    prompt_macs = matmul_macs_per_prompt_token(*file);
    const std::string proj = dominant_projection_type(*file);
    model_desc = file->get_string("general.name", fs::path(model_path).stem().string());
    if (model_desc.size() > 26) model_desc = fs::path(model_path).stem().string();
    model_desc += " " + proj;
    Model model(std::move(file), reg.backend(be_name),
                mmap_weights ? WeightPlacement::Mapped : WeightPlacement::Memory,
                no_repack ? WeightLayout::File : WeightLayout::Backend);
    const auto& hp = model.hparams();
    std::uniform_int_distribution<int32_t> tok(0, int32_t(hp.n_vocab) - 1);
    auto random_tokens = [&](size_t n) {
      std::vector<int32_t> tokens(n);
      for (auto& t : tokens) t = tok(rng);
      return tokens;
    };
    const size_t n_ctx = *std::max_element(depths.begin(), depths.end()) + std::max(n_prompt, n_gen) + 1;
    const size_t kv_dim = hp.n_head_kv * hp.head_dim;
    for (const KvCacheTypes cache : caches)
      for (size_t threads : thread_counts) {
        kv_bytes_max = std::max<uint64_t>(
            kv_bytes_max, uint64_t(hp.n_layer) * n_ctx *
                              (dtype_row_bytes(cache.k, kv_dim) + dtype_row_bytes(cache.v, kv_dim)));
        const std::string kv_types = kv_cache_type_name(cache.k) + "/" + kv_cache_type_name(cache.v);
        Session session(model, n_ctx, threads, cache);
        session.eval({tok(rng)});  // warm-up: maps every weight page in
        for (const size_t depth : depths)
          for (const auto& [test, n] : {std::pair<std::string, size_t>{"pp", n_prompt}, {"tg", n_gen}}) {
            if (n == 0) continue;
            std::vector<double> tps;
            for (size_t r = 0; r < reps; ++r) {
              session.reset();
              if (depth > 0)
                session.eval(random_tokens(depth));  // the context the test starts from, not timed
              const std::vector<int32_t> tokens = random_tokens(n);
              const auto t0 = Clock::now();
              if (test == "pp")
                session.eval(tokens);
              else
                for (auto t : tokens) session.eval({t});
              tps.push_back(double(n) / seconds_since(t0));
            }
            const Stat s = stat(tps);
            const std::string name =
                test + std::to_string(n) + (depth > 0 ? " @ d" + std::to_string(depth) : "");
            results.push_back({{"model", model_desc},
                               {"file", model_path},
                               {"size_bytes", file_bytes},
                               {"backend", be_name},
                               {"threads", threads},
                               {"type_k", kv_cache_type_name(cache.k)},
                               {"type_v", kv_cache_type_name(cache.v)},
                               {"weight_layout", no_repack ? "file" : "backend"},  // --no-repack: "file"
                               {"test", name},
                               {"depth", depth},
                               {"tokens_per_sec", s.mean},
                               {"stddev", s.sd},
                               {"samples", tps}});
            if (!as_json) {
              char size[32], ts[40];
              std::snprintf(size, sizeof size, "%.2f GiB", double(file_bytes) / (1 << 30));
              std::snprintf(ts, sizeof ts, "%.2f ± %.2f", s.mean, s.sd);
              // 17 bytes for 16 columns: printf pads bytes, and "±" is two bytes of UTF-8.
              std::printf("| %-34s | %9s | %-10s | %7zu | %-9s | %13s | %17s |\n", model_desc.c_str(), size,
                          be_name.c_str(), threads, kv_types.c_str(), name.c_str(), ts);
              std::fflush(stdout);
            }
          }
      }
  }

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double peak_rss = double(ru.ru_maxrss) * 1024.0;
  ordered_json out = {{"results", results},
                      {"weight_bytes_per_token", per_token},
                      {"matmul_macs_per_prompt_token", prompt_macs},
                      {"peak_rss_bytes", peak_rss},
                      {"file_bytes", file_bytes},
                      {"kv_cache_bytes", kv_bytes_max},
                      {"peak_rss_over_file_plus_kv", peak_rss / double(file_bytes + kv_bytes_max)}};
  if (bandwidth) {
    ordered_json bw = ordered_json::array();
    for (size_t threads : thread_counts) {
      const double b = measure_read_bandwidth(threads);
      double tg = 0;
      for (const auto& r : results)
        if (r["threads"] == threads && r["depth"] == 0 && r["test"].get<std::string>().starts_with("tg"))
          tg = std::max(tg, r["tokens_per_sec"].get<double>());
      const double bound = b / double(per_token);
      bw.push_back({{"threads", threads},
                    {"read_bytes_per_sec", b},
                    {"tg_bound_tokens_per_sec", bound},
                    {"best_tg_tokens_per_sec", tg},
                    {"tg_fraction_of_bound", tg / bound}});
      if (!as_json)
        std::printf(
            "\nthreads %zu: read bandwidth %.1f GB/s; %.1f MB of weights per token -> tg bound %.2f t/s; "
            "best tg %.2f t/s = %.0f%% of the bound",
            threads, b / 1e9, double(per_token) / 1e6, bound, tg, 100 * tg / bound);
    }
    out["bandwidth"] = bw;
    if (!as_json) std::printf("\n");
  }
  if (as_json)
    std::printf("%s\n", out.dump(2).c_str());
  else
    std::printf("\npeak RSS %.1f MiB = %.2f x (file %.1f MiB + KV cache %.1f MiB)\n", peak_rss / (1 << 20),
                peak_rss / double(file_bytes + kv_bytes_max), double(file_bytes) / (1 << 20),
                double(kv_bytes_max) / (1 << 20));
  return 0;
}

}  // namespace tern::cli
