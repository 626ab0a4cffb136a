// A ModelFile (GGUF names and conventions) back to a Hugging Face checkpoint directory: the inverse of
// safetensors.cpp's reader, so GGUF -> Hugging Face -> GGUF keeps every tensor bit for bit.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "safetensors.h"
#include "tern/arch.h"
#include "tern/convert.h"
#include "tern/error.h"
#include "tern/mapped_file.h"
#include "tern/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace tern::safetensors {
namespace {

struct Settings {
  bool bitnet_online = false;                // latent bf16 weights instead of packed 2-bit codes
  uint64_t max_shard_bytes = 5000000000ull;  // transformers' default max_shard_size, "5GB"
};

Settings parse_settings(const WriteOptions& options, const fs::path& dir) {
  Settings s;
  for (const auto& [key, value] : options) {
    if (key == "bitnet_layout") {
      if (value != "offline" && value != "online")
        throw Error(dir.string() + ": bitnet_layout '" + value + "' is not offline or online");
      s.bitnet_online = value == "online";
    } else if (key == "max_shard_size") {
      uint64_t v = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || end != value.data() + value.size() || v < (1u << 20))
        throw Error(dir.string() + ": max_shard_size '" + value + "' is not a byte count of at least 1 MiB");
      s.max_shard_bytes = v;
    } else {
      throw Error(dir.string() + ": the safetensors writer has no option '" + key + "'");
    }
  }
  return s;
}

struct OutTensor {
  std::string name, dtype;
  std::vector<uint64_t> shape;  // outermost first
  std::vector<uint8_t> bytes;
  size_t element_size() const { return dtype == "F32" ? 4 : dtype == "U8" ? 1 : 2; }
};

template <class T>
std::vector<uint8_t> bytes_of(const T* p, size_t n) {
  std::vector<uint8_t> b(n * sizeof(T));
  std::memcpy(b.data(), p, b.size());
  return b;
}

// The float whose reciprocal is `s` when one exists (transformers divides by weight_scale; tern's reader
// multiplies by 1 / weight_scale), so the scale survives the round trip exactly.
float reciprocal_preimage(float s) {
  const float guess = 1.0f / s;
  float lo = guess, hi = guess;
  for (int i = 0; i < 16; ++i) {
    if (1.0f / lo == s) return lo;
    if (1.0f / hi == s) return hi;
    lo = std::nextafter(lo, 0.0f);
    hi = std::nextafter(hi, 2 * guess);
  }
  return guess;
}

void permute_if_qk(const ModelFile& f, const ArchDescriptor& arch, TensorId id, uint8_t* rows,
                   size_t row_bytes, size_t n_rows) {
  if (id.role != TensorRole::AttnQ && id.role != TensorRole::AttnK) return;
  const RopeStyle from = file_rope_style(f, arch);
  if (from == RopeStyle::RotateHalf) return;
  const std::string a = std::string(arch.name) + ".";
  const int64_t n_head = f.get_int(a + "attention.head_count", 0);
  const int64_t heads =
      id.role == TensorRole::AttnK ? f.get_int(a + "attention.head_count_kv", n_head) : n_head;
  if (heads <= 0 || n_rows % size_t(heads) || (n_rows / size_t(heads)) % 2)
    throw Error(f.path + ": " + tensor_name(id) + " has " + std::to_string(n_rows) + " rows, not " +
                std::to_string(heads) + " heads of an even size");
  permute_qk_row_bytes(rows, row_bytes, size_t(heads), n_rows / size_t(heads), from, RopeStyle::RotateHalf);
}

// A projection of a BitLinear model in transformers' packed layout: U8 [N / 4, K], where bits 2j..2j+1 of
// byte (r, c) hold code + 1 of row r + j N / 4, plus weight_scale = 1 / scale.
void add_packed(const ModelFile& f, const ArchDescriptor& arch, TensorId id, const TensorInfo& t,
                std::vector<OutTensor>& out) {
  auto [codes, scale] = ternary_codes(f, t, "export it with bitnet_layout=online");
  const size_t K = t.ne[0], N = t.n_rows();
  if (N % 4)
    throw Error(f.path + ": tensor " + t.name + " has " + std::to_string(N) +
                " rows, not a multiple of 4 (packed layout); export it with bitnet_layout=online");
  permute_if_qk(f, arch, id, reinterpret_cast<uint8_t*>(codes.data()), K, N);
  const size_t quarter = N / 4;
  OutTensor w{
      tensor_name(id, NameScheme::HuggingFace), "U8", {quarter, K}, std::vector<uint8_t>(quarter * K)};
  for (size_t j = 0; j < 4; ++j)
    for (size_t r = 0; r < quarter; ++r)
      for (size_t c = 0; c < K; ++c)
        w.bytes[r * K + c] |= uint8_t((codes[(r + j * quarter) * K + c] + 1) << (2 * j));
  const float ws = reciprocal_preimage(scale);
  OutTensor s{w.name.substr(0, w.name.size() - 6) + "weight_scale", "F32", {1}, bytes_of(&ws, 1)};
  out.push_back(std::move(w));
  out.push_back(std::move(s));
}

// The same projection as latent weights for transformers' online quantization, which recomputes the scale as
// mean |w|: codes * scale / (share of non-zero codes) gives back these codes and this scale.
void add_latent(const ModelFile& f, const ArchDescriptor& arch, TensorId id, const TensorInfo& t,
                std::vector<OutTensor>& out) {
  auto [codes, scale] = ternary_codes(f, t, "export it with bitnet_layout=online");
  const size_t K = t.ne[0], N = t.n_rows();
  permute_if_qk(f, arch, id, reinterpret_cast<uint8_t*>(codes.data()), K, N);
  size_t nonzero = 0;
  for (int8_t c : codes) nonzero += c != 0;
  const float magnitude = nonzero ? scale * float(codes.size()) / float(nonzero) : 0.0f;
  std::vector<uint16_t> bf(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) bf[i] = fp32_to_bf16(float(codes[i]) * magnitude);
  out.push_back({tensor_name(id, NameScheme::HuggingFace), "BF16", {N, K}, bytes_of(bf.data(), bf.size())});
}

// Float tensors keep their type; quantized ones become F32, which holds their values exactly.
void add_plain(const ModelFile& f, const ArchDescriptor& arch, TensorId id, const TensorInfo& t,
               bool force_f32, std::vector<OutTensor>& out) {
  OutTensor o{tensor_name(id, NameScheme::HuggingFace), "F32", {}, {}};
  for (auto it = t.ne.rbegin(); it != t.ne.rend(); ++it) o.shape.push_back(*it);
  if (!force_f32 && (t.type == DType::F32 || t.type == DType::F16 || t.type == DType::BF16)) {
    o.dtype = t.type == DType::F32 ? "F32" : t.type == DType::F16 ? "F16" : "BF16";
    o.bytes.assign(t.data, t.data + t.nbytes);
  } else {
    const auto v = dequantize_tensor(t);
    o.bytes = bytes_of(v.data(), v.size());
  }
  const size_t rows = t.ne.size() >= 2 ? size_t(t.n_rows()) : 1;
  permute_if_qk(f, arch, id, o.bytes.data(), o.bytes.size() / rows, rows);
  out.push_back(std::move(o));
}

// One .safetensors file: u64 header size, the JSON header padded with spaces to 8 bytes, the data.
void write_safetensors(const fs::path& path, const std::vector<const OutTensor*>& tensors) {
  ordered_json h = ordered_json::object();
  h["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto* t : tensors) {
    h[t->name] = {
        {"dtype", t->dtype}, {"shape", t->shape}, {"data_offsets", {offset, offset + t->bytes.size()}}};
    offset += t->bytes.size();
  }
  std::string header = h.dump();
  header.resize((header.size() + 7) / 8 * 8, ' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), std::streamsize(header.size()));
  for (const auto* t : tensors)
    out.write(reinterpret_cast<const char*>(t->bytes.data()), std::streamsize(t->bytes.size()));
  if (!out.flush()) throw Error(path.string() + ": write failed");
}

void write_into(const ModelFile& f, const fs::path& dir, const Settings& s) {
  const ArchDescriptor* arch = find_arch(f.get_string("general.architecture"));
  if (!arch)
    throw Error(f.path + ": architecture '" + f.get_string("general.architecture") +
                "' has no Hugging Face form (" + supported_arch_names() + ")");
  std::vector<OutTensor> tensors;
  for (const auto& t : f.tensors) {
    const auto id = parse_tensor_name(t.name);
    if (!id) throw Error(f.path + ": tensor " + t.name + " has no Hugging Face name");
    const TensorNaming& n = tensor_naming(id->role);
    if (arch->bitlinear && n.projection)
      (s.bitnet_online ? add_latent : add_packed)(f, *arch, *id, t, tensors);
    else
      add_plain(f, *arch, *id, t, n.norm, tensors);
  }
  // Widest elements first keeps every tensor aligned to its element size in the mapped file.
  std::sort(tensors.begin(), tensors.end(),
            [](const OutTensor& x, const OutTensor& y) {  // names are unique: a total order
              return x.element_size() != y.element_size() ? x.element_size() > y.element_size()
                                                          : x.name < y.name;
            });
  std::vector<std::vector<const OutTensor*>> shards(1);
  uint64_t shard_bytes = 0, total = 0;
  for (const auto& t : tensors) {
    if (shard_bytes && shard_bytes + t.bytes.size() > s.max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(&t);
    shard_bytes += t.bytes.size();
    total += t.bytes.size();
  }
  if (shards.size() == 1) {
    write_safetensors(dir / "model.safetensors", shards[0]);
  } else {
    ordered_json map = ordered_json::object();
    for (size_t i = 0; i < shards.size(); ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      write_safetensors(dir / name, shards[i]);
      for (const auto* t : shards[i]) map[t->name] = name;
    }
    ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", map}};
    write_text_atomically(dir / "model.safetensors.index.json", index.dump(2) + "\n");
  }
  std::string torch_dtype = "float32";
  for (const auto& t : tensors)
    if (t.dtype == "BF16" || t.dtype == "F16") torch_dtype = t.dtype == "BF16" ? "bfloat16" : "float16";
  if (arch->bitlinear) torch_dtype = "bfloat16";
  const ordered_json cfg =
      ordered_json::parse(hf_config_json(f, s.bitnet_online ? "online" : "offline", torch_dtype));
  write_text_atomically(dir / "config.json", cfg.dump(2) + "\n");
  ordered_json gen = {{"_from_model_config", true}};
  for (const char* key : {"bos_token_id", "eos_token_id"})
    if (cfg.contains(key)) gen[key] = cfg[key];
  write_text_atomically(dir / "generation_config.json", gen.dump(2) + "\n");
  if (f.get("tokenizer.ggml.tokens"))
    write_tokenizer_files(Vocab::from_metadata(f), dir, f.get_string("tokenizer.chat_template", ""));
}

}  // namespace

void write(const ModelFile& f, const fs::path& dir, const WriteOptions& options) {
  const Settings s = parse_settings(options, dir);
  // A failed or interrupted export leaves no half-written checkpoint.
  write_directory_atomically(dir, [&](const fs::path& tmp) { write_into(f, tmp, s); });
}

}  // namespace tern::safetensors
