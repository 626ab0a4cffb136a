#include "tool_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "tern/convert.h"
#include "tern/error.h"
#include "tern/mapped_file.h"
#include "tern/sha256.h"
#include "tern/version.h"

namespace po = boost::program_options;

namespace tern::cli {

bool parse_command_line(const std::vector<std::string>& args, const po::options_description& opts,
                        const po::positional_options_description& pos, po::variables_map& vm) {
  po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end())).options(opts).positional(pos).run(),
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
  std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu %-32.32s", what_.c_str(), filled, "##############################",
               kWidth - filled, "", done, total, item.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  write_atomically(path.string(), [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error(path.string() + ": write failed");
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
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) t = std::time_t(std::strtoll(e, nullptr, 10));
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

std::string fingerprint(const std::filesystem::path& path) { return "sha256-" + sha256_file_hex(path); }

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

}  // namespace tern::cli
