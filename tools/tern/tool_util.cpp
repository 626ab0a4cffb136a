#include "tool_util.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "tern/convert.h"
#include "tern/error.h"
#include "tern/generate.h"
#include "tern/mapped_file.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/sha256.h"
#include "tern/tokenizer.h"
#include "tern/version.h"

namespace po = boost::program_options;

namespace tern::cli {

bool parse_command_line(const std::vector<std::string>& args, const po::options_description& opts,
                        const po::positional_options_description& pos, po::variables_map& vm) {
  po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end()))
                .options(opts)
                .positional(pos)
                .run(),
            vm);
  if (vm.count("help")) {
    std::printf("%s", (std::ostringstream() << opts).str().c_str());
    return false;
  }
  po::notify(vm);
  return true;
}

Progress::Progress(std::string what) : what_(std::move(what)), tty_(isatty(2) != 0) {}

Progress::~Progress() {
  if (drawn_) std::fputc('\n', stderr);
}

void Progress::operator()(size_t done, size_t total, const std::string& item) {
  if (!tty_ || total == 0) return;
  constexpr int kWidth = 30;
  const int filled = int(kWidth * done / total);
  std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu %-32.32s", what_.c_str(), filled,
               "##############################", kWidth - filled, "", done, total, item.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void make_parent_directories(const std::filesystem::path& path) {
  if (!path.has_parent_path()) return;
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    throw Error(path.string() + ": cannot create its directory " + path.parent_path().string() + ": " +
                ec.message());
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(path.string() + ": is a directory; give a file name");
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(path.string() + ": directory " + dir.string() + " does not exist");
  write_atomically(path.string(), [&](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(path.string() + ": cannot open for writing: " + std::strerror(errno));
    const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const int write_errno = errno;
    if (std::fclose(f) != 0 || !wrote)
      throw Error(path.string() + ": write failed: " + std::strerror(wrote ? errno : write_errno));
  });
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string build_date() {
  std::time_t t = std::time(nullptr);
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e)
    t = std::time_t(std::strtoll(e, nullptr, 10));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string dominant_projection_type(const ModelFile& f) {
  std::map<std::string, size_t> count;
  for (const auto& t : f.tensors)
    if (is_projection_tensor(t.name)) ++count[dtype_name(t.type)];
  std::string best = "unknown";
  size_t most = 0;
  for (const auto& [type, n] : count)
    if (n > most) best = type, most = n;
  return best;
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

uint64_t model_bytes(const std::filesystem::path& path) {
  if (!std::filesystem::is_directory(path)) return std::filesystem::file_size(path);
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(path))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") bytes += e.file_size();
  return bytes;
}

int64_t option_in_range(const char* name, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi)
    throw Error(std::string("--") + name + " must be between " + std::to_string(lo) + " and " +
                std::to_string(hi) + ", not " + std::to_string(value));
  return value;
}

double option_in_range(const char* name, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) {
    std::ostringstream s;
    s << "--" << name << " must be between " << lo << " and " << hi << ", not " << value;
    throw Error(s.str());
  }
  return value;
}

size_t default_threads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

size_t option_threads(const char* name, int64_t value) {
  return size_t(option_in_range(name, value, 1, int64_t(std::max<size_t>(16, 4 * default_threads()))));
}

std::vector<std::string> llama_style_options(std::vector<std::string> args) {
  static const std::map<std::string, std::string> kLong = {{"-cnv", "--conversation"},
                                                           {"-sys", "--system"},
                                                           {"-np", "--parallel"},
                                                           {"-ctk", "--cache-type-k"},
                                                           {"-ctv", "--cache-type-v"}};
  for (auto& a : args)
    if (const auto it = kLong.find(a); it != kLong.end()) a = it->second;
  return args;
}

DType kv_cache_type_option(const char* name, const std::string& value) {
  const auto t = dtype_from_name(value);
  if (!t || !is_kv_cache_type(*t))
    throw Error(std::string("--") + name + " '" + value + "' is not a KV cache type (" +
                kv_cache_type_names() + ")");
  return *t;
}

void check_runnable(const ModelFile& f, const std::string& source) {
  try {
    Model model(std::make_unique<ModelFile>(f), Registry::instance().backend("reference"));
    check_tokenizer_matches(*Tokenizer::from_model_file(f), model, source);
  } catch (const Error& e) {
    throw Error(source + " cannot be written as a runnable model: " + e.what());
  }
}

std::string fingerprint(const std::filesystem::path& path) {
  return "sha256-" + sha256_file_hex(path);
}

std::string write_provenance(const std::filesystem::path& gguf, nlohmann::ordered_json meta) {
  const std::string fp = fingerprint(gguf);
  auto sibling = [&](const char* ext) { return gguf.parent_path() / (gguf.stem().string() + ext); };
  write_text_file(sibling(".fingerprint"), fp + "\n");
  meta["file"] = gguf.filename().string();
  meta["fingerprint"] = fp;
  meta["size_bytes"] = std::filesystem::file_size(gguf);
  meta["tern_version"] = version();
  meta["git_commit"] = git_commit();
  meta["date"] = build_date();
  write_text_file(sibling(".meta.json"), meta.dump(2) + "\n");
  return fp;
}

std::string token_text(const Tokenizer& tokenizer, int32_t id) {
  const auto& tokens = tokenizer.vocab().tokens;
  return id >= 0 && size_t(id) < tokens.size() ? tokens[size_t(id)] : "";
}

bool chat_prompt_needs_bos(const Tokenizer& tokenizer, const std::string& rendered) {
  const std::string bos = token_text(tokenizer, tokenizer.bos());
  return tokenizer.vocab().add_bos && (bos.empty() || rendered.rfind(bos, 0) != 0);
}

}  // namespace tern::cli
