#include "safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tern/arch.h"
#include "tern/error.h"
#include "tern/hf_config.h"
#include "tern/mapped_file.h"
#include "tern/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tern::safetensors {
namespace {

struct RawTensor {
  std::string name, dtype;
  std::vector<uint64_t> shape;  // safetensors order: outermost first
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::string file;
};

size_t dtype_size(const std::string& d) {
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "U8" || d == "I8" || d == "BOOL") return 1;
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  return 0;
}

// A JSON array of non-negative integers. Checked element by element: nlohmann's conversion of a negative or
// fractional number (-1, 1e300) to uint64_t wraps or is undefined behaviour.
std::vector<uint64_t> unsigned_list(const json& a, const std::string& path, const std::string& tensor,
                                    const char* what) {
  if (!a.is_array())
    throw Error(path + ": bad safetensors header: tensor " + tensor + " " + what + " is not an array");
  std::vector<uint64_t> out;
  for (const auto& x : a) {
    if (!x.is_number_unsigned())
      throw Error(path + ": bad safetensors header: tensor " + tensor + " " + what + " holds " + x.dump() +
                  ", not a non-negative integer");
    out.push_back(x.get<uint64_t>());
  }
  return out;
}

// Parses one .safetensors file: u64 header length, JSON header, then the data region.
std::vector<RawTensor> read_file(const fs::path& p, std::vector<std::shared_ptr<const void>>& storage) {
  const std::string path = p.string();
  auto map = MappedFile::open(path);
  if (map->size() < 8) throw Error(path + ": bad safetensors header: file shorter than 8 bytes");
  uint64_t hlen;
  std::memcpy(&hlen, map->data(), 8);
  if (hlen < 2)
    throw Error(path + ": bad safetensors header: header length " + std::to_string(hlen) +
                " is too short for a JSON object");
  if (hlen > map->size() - 8)
    throw Error(path + ": bad safetensors header: header length " + std::to_string(hlen) +
                " exceeds file size " + std::to_string(map->size()));
  json h;
  try {
    h = json::parse(map->data() + 8, map->data() + 8 + hlen);
  } catch (const json::exception& e) {
    throw Error(path + ": bad safetensors header: " + e.what());
  }
  if (!h.is_object()) throw Error(path + ": bad safetensors header: not a JSON object");
  const uint8_t* base = map->data() + 8 + hlen;
  const size_t data_size = map->size() - 8 - hlen;
  std::vector<RawTensor> out;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& v = it.value();
    RawTensor t;
    t.name = it.key();
    t.file = path;
    try {
      t.dtype = v.at("dtype").get<std::string>();
      t.shape = unsigned_list(v.at("shape"), path, t.name, "shape");
      const auto offs = unsigned_list(v.at("data_offsets"), path, t.name, "data_offsets");
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_size)
        throw Error(path + ": bad safetensors header: tensor " + t.name + " data_offsets out of range");
      const size_t es = dtype_size(t.dtype);
      if (!es) throw Error(path + ": tensor " + t.name + " has unsupported dtype " + t.dtype);
      uint64_t n = 1;
      for (auto d : t.shape) {
        if (d > (uint64_t(1) << 40) || (d && n > (uint64_t(1) << 50) / d))
          throw Error(path + ": tensor " + t.name + " has an absurd shape");
        n *= d;
      }
      if (n * es != offs[1] - offs[0])
        throw Error(path + ": bad safetensors header: tensor " + t.name +
                    " size does not match its shape and dtype");
      t.data = base + offs[0];
      t.nbytes = size_t(offs[1] - offs[0]);
    } catch (const json::exception& e) {
      throw Error(path + ": bad safetensors header: tensor " + t.name + ": " + e.what());
    }
    out.push_back(std::move(t));
  }
  std::vector<ByteRange> ranges;
  for (const auto& t : out) ranges.push_back({uint64_t(t.data - base), t.nbytes, t.name});
  check_disjoint(std::move(ranges), path + ": bad safetensors header");
  storage.push_back(map);
  return out;
}

std::vector<float> to_f32(const RawTensor& t) {
  const size_t n = t.nbytes / dtype_size(t.dtype);
  std::vector<float> v(n);
  if (t.dtype == "F32")
    dequantize_row(DType::F32, t.data, v.data(), n);
  else if (t.dtype == "F16")
    dequantize_row(DType::F16, t.data, v.data(), n);
  else if (t.dtype == "BF16")
    dequantize_row(DType::BF16, t.data, v.data(), n);
  else
    throw Error(t.file + ": tensor " + t.name + " has dtype " + t.dtype + ", expected a float type");
  return v;
}

// A shard named by the index must be a file inside the checkpoint directory: an index that names
// "../other/model.safetensors" or "/etc/passwd" must not make the reader open it.
fs::path shard_path(const fs::path& dir, const std::string& name) {
  const fs::path index = dir / "model.safetensors.index.json";
  const fs::path rel(name);
  bool escapes = name.empty() || rel.is_absolute() || rel.has_root_name();
  for (const auto& part : rel) escapes = escapes || part == "..";
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(dir, ec);
  const fs::path full = fs::weakly_canonical(dir / rel, ec);
  if (!escapes && !ec) {
    const auto mismatch = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
    escapes = mismatch.first != base.end();
  }
  if (escapes)
    throw Error(index.string() + ": weight_map names '" + name +
                "', which is outside the checkpoint directory");
  return dir / rel;
}

}  // namespace

int probe(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const bool weights =
        fs::exists(path / "model.safetensors", ec) || fs::exists(path / "model.safetensors.index.json", ec);
    if (weights) return fs::exists(path / "config.json", ec) ? 100 : 50;
    return fs::exists(path / "config.json", ec) ? 20 : 0;
  }
  return path.extension() == ".safetensors" ? 50 : 0;
}

std::unique_ptr<ModelFile> read(const fs::path& input) {
  std::error_code ec;
  const fs::path dir = fs::is_directory(input, ec) ? input : input.parent_path();
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path, ec)) throw Error(dir.string() + ": missing config.json");
  const json cfg = read_json_object(config_path);

  auto mf = std::make_unique<ModelFile>();
  mf->path = dir.string();
  mf->format = "safetensors";

  // Weight files: a single model.safetensors, the shards named by an index, or the file given.
  std::vector<fs::path> files;
  if (!fs::is_directory(input, ec)) {
    files.push_back(input);
  } else if (fs::exists(dir / "model.safetensors.index.json", ec)) {
    const json idx = read_json_object(dir / "model.safetensors.index.json");
    std::set<std::string> names;
    try {
      for (auto it = idx.at("weight_map").begin(); it != idx.at("weight_map").end(); ++it)
        names.insert(it.value().get<std::string>());
    } catch (const json::exception& e) {
      throw Error((dir / "model.safetensors.index.json").string() + ": bad index: " + e.what());
    }
    for (const auto& n : names) files.push_back(shard_path(dir, n));
  } else {
    files.push_back(dir / "model.safetensors");
  }
  std::map<std::string, RawTensor> raw;
  for (const auto& f : files)
    for (auto& t : read_file(f, mf->storage)) {
      const std::string name = t.name, file = t.file;
      if (!raw.emplace(name, std::move(t)).second)
        throw Error(file + ": tensor " + name + " is also in " + raw.at(name).file);
    }

  // ---- hyper-parameters ----
  const HfConfig hc = read_hf_config(cfg, config_path.string(), mf->meta, dir.filename().string());
  const ArchDescriptor* desc = hc.arch;
  const std::string lm_head = tensor_name({TensorRole::Output}, NameScheme::HuggingFace);
  const std::string first_q = tensor_name(TensorRole::AttnQ, 0, NameScheme::HuggingFace);
  if (!hc.tied && !raw.count(lm_head))
    throw Error(config_path.string() + ": tie_word_embeddings is false but the checkpoint has no " + lm_head);
  if (desc->bitlinear && !hc.quant_mode.empty()) {
    const bool packed = raw.count(first_q) && raw.at(first_q).dtype == "U8";
    if (packed != (hc.quant_mode == "offline"))
      throw Error(config_path.string() + ": quantization_mode '" + hc.quant_mode + "' but the weights are " +
                  (packed ? "packed (offline)" : "latent floats (online)"));
  }
  auto& m = mf->meta;

  // ---- tensors ----
  const bool bitnet = desc->bitlinear;
  for (const auto& [hf_name, t] : raw) {
    const std::string name = hf_to_gguf_tensor_name(hf_name);
    if (name.empty()) continue;
    TensorInfo ti;
    ti.name = name;
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) ti.ne.push_back(*it);
    if (bitnet && is_projection_tensor(name)) {
      // Ternary projection -> I2_S, whatever the checkpoint's layout.
      std::vector<float> values;
      float scale = 1.0f;
      if (t.dtype == "U8") {  // offline quant: packed [N/4, K], real weight = ternary / weight_scale
        const std::string scale_name = hf_name.substr(0, hf_name.size() - 6) + "weight_scale";
        auto sit = raw.find(scale_name);
        if (sit == raw.end()) throw Error(t.file + ": packed tensor " + hf_name + " has no " + scale_name);
        const auto sv = to_f32(sit->second);
        if (sv.empty() || !(std::isfinite(sv[0]) && sv[0] != 0.0f))
          throw Error(t.file + ": " + scale_name + " is not a finite non-zero scale");
        scale = 1.0f / sv[0];
        if (t.shape.size() != 2) throw Error(t.file + ": packed tensor " + hf_name + " is not 2-D");
        const size_t quarter = t.shape[0], K = t.shape[1], N = quarter * 4;
        values.resize(N * K);
        for (size_t r = 0; r < quarter; ++r)
          for (size_t c = 0; c < K; ++c) {
            const uint8_t b = t.data[r * K + c];
            for (size_t j = 0; j < 4; ++j) {
              const int code = (b >> (2 * j)) & 3;
              if (code == 3)
                throw Error(t.file + ": packed tensor " + hf_name +
                            " has the invalid 2-bit code 3 at byte [" + std::to_string(r) + ", " +
                            std::to_string(c) + "]");
              values[(r + j * quarter) * K + c] = float(code - 1);
            }
          }
        ti.ne = {K, N};
        for (auto& v : values) v *= scale;
      } else {  // online quant: latent float weights, scale = mean|w|
        values = to_f32(t);
        scale = ternary_absmean_scale(values.data(), values.size());
      }
      const size_t K = ti.ne[0], N = ti.n_rows();
      if (dtype_row_ok(DType::I2_S, K)) {
        ti.type = DType::I2_S;
        ti.nbytes = dtype_tensor_bytes(DType::I2_S, K, N);
        uint8_t* dst = mf->alloc(ti.nbytes);
        quantize_matrix(DType::I2_S, values.data(), dst, K, N, scale);
        ti.data = dst;
      } else {  // rows I2_S cannot hold: keep ternary * scale in f32
        ti.type = DType::F32;
        ti.nbytes = K * N * 4;
        auto* dst = reinterpret_cast<float*>(mf->alloc(ti.nbytes));
        for (size_t i = 0; i < K * N; ++i)
          dst[i] = std::clamp(std::nearbyint(values[i] / scale), -1.0f, 1.0f) * scale;
        ti.data = reinterpret_cast<uint8_t*>(dst);
      }
    } else if (is_norm_tensor(name) || t.dtype == "F64") {
      const auto v = to_f32(t);
      ti.type = DType::F32;
      ti.nbytes = v.size() * 4;
      uint8_t* dst = mf->alloc(ti.nbytes);
      std::memcpy(dst, v.data(), ti.nbytes);
      ti.data = dst;
    } else if (t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16") {  // zero-copy
      ti.type = t.dtype == "F32" ? DType::F32 : t.dtype == "F16" ? DType::F16 : DType::BF16;
      ti.data = t.data;
      ti.nbytes = t.nbytes;
    } else {
      throw Error(t.file + ": tensor " + hf_name + " has unsupported dtype " + t.dtype);
    }
    mf->tensors.push_back(std::move(ti));
  }
  std::sort(mf->tensors.begin(), mf->tensors.end(),
            [](const TensorInfo& x, const TensorInfo& y) { return x.name < y.name; });

  // ---- tokenizer (embedded so the model is self-contained, as in GGUF) ----
  read_hf_tokenizer(dir, cfg, m);
  return mf;
}

}  // namespace tern::safetensors
