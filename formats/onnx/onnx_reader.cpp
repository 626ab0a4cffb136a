// Reading ONNX decoders: the protobuf is parsed with bounds checks, external data is mapped and every offset
// checked. A graph with com.microsoft attention is read as ONNX Runtime GenAI's layout (genai_reader.cpp);
// any other must be exactly the one tern's writer makes for the weights found (node for node), so an ONNX
// file tern does not understand is refused naming the first node or initializer that differs, never run as
// a wrong model.
#include "onnx_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "genai_reader.h"
#include "matmul_nbits.h"
#include "onnx_graph.h"
#include "onnx_writer.h"
#include "tern/convert.h"
#include "tern/error.h"
#include "tern/hf_config.h"
#include "tern/mapped_file.h"
#include "tern/protobuf.h"

namespace fs = std::filesystem;

namespace tern::onnx {
namespace {

// Compares the file's graph with the one tern's writer makes for these weights; names the first difference.
void check_structure(const Graph& g, const GraphBuilder& want, const std::string& path, Weights& weights) {
  const auto& nodes = want.nodes();
  for (size_t i = 0; i < std::max(nodes.size(), g.nodes.size()); ++i) {
    if (i < nodes.size() && i < g.nodes.size() && nodes[i].str() == g.nodes[i].bytes) continue;
    if (i >= g.nodes.size())
      throw Error(path + ": the graph ends after " + std::to_string(i) +
                  " nodes, before tern's decoder does");
    throw Error(path + ": node '" + g.nodes[i].name + "' (" + g.nodes[i].op +
                ") is not the node tern's decoder graph has there"
                "; tern reads the graphs tern export writes");
  }
  auto same = [&](const std::vector<std::string_view>& got, const std::vector<ProtoWriter>& exp,
                  const char* what) {
    bool ok = got.size() == exp.size();
    for (size_t i = 0; ok && i < got.size(); ++i) ok = got[i] == exp[i].str();
    if (!ok)
      throw Error(path + ": the graph's " + what +
                  " are not tern's decoder's (input_ids, attention_mask, past_key_values.N.key / value)");
  };
  same(g.inputs, want.inputs(), "inputs");
  same(g.outputs, want.outputs(), "outputs");
  std::map<std::string, const GraphBuilder::Initializer*> expected;
  for (const auto& i : want.initializers()) expected[i.name] = &i;
  for (const auto& t : g.inits) {
    auto it = expected.find(t.name);
    if (it == expected.end())
      throw Error(path + ": initializer " + t.name + " is not one tern's decoder graph uses");
    if (t.type != int32_t(it->second->type) || t.dims != it->second->dims)
      throw Error(path + ": initializer " + t.name + " has the wrong type or shape for tern's decoder graph");
    const auto& bytes = it->second->bytes;  // constants (RoPE tables, epsilon, shapes) must be tern's exactly
    if (!bytes.empty() &&
        weights.bytes(t) != std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
      throw Error(path + ": initializer " + t.name + " does not hold the constant tern's decoder graph has");
    expected.erase(it);
  }
  if (!expected.empty()) throw Error(path + ": missing initializer " + expected.begin()->first);
}

// f16 block scales written as float: exact only if the value is a half.
uint16_t exact_half(float v, const std::string& path, const std::string& name) {
  const uint16_t h = fp32_to_fp16(v);
  if (!(fp16_to_fp32(h) == v))
    throw Error(path + ": initializer " + name + " holds a scale that is not a half (" + std::to_string(v) +
                "); tern's export writes f16 block scales");
  return h;
}

// A llama projection as the writer's typed_linear writes it (`base` + .q4 / .q8 / .scales / .zero_points /
// .mins, or a float16 / bfloat16 [K, N] `base`), back to its dtype's rows bit for bit. Nothing when the file
// has none of these (a float32 weight).
std::optional<std::pair<TensorInfo, std::vector<uint8_t>>> typed_projection(
    const std::string& base, const std::map<std::string, const Initializer*>& by_name, Weights& weights,
    const std::string& path) {
  auto get = [&](const std::string& name) -> const Initializer* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };
  TensorInfo ti;
  if (const Initializer* w = get(base)) {
    const bool half = w->type == int32_t(ElemType::Float16), brain = w->type == int32_t(ElemType::BFloat16);
    if (!half && !brain) return std::nullopt;
    if (w->dims.size() != 2) throw Error(path + ": initializer " + base + " is not a [K, N] matrix");
    const size_t K = size_t(w->dims[0]), N = size_t(w->dims[1]);
    const std::string_view b = weights.bytes(*w);
    std::vector<uint8_t> out(b.size());
    for (size_t k = 0; k < K; ++k)
      for (size_t r = 0; r < N; ++r) std::memcpy(&out[(r * K + k) * 2], b.data() + (k * N + r) * 2, 2);
    ti.type = half ? DType::F16 : DType::BF16;
    ti.ne = {K, N};
    return std::make_pair(ti, std::move(out));
  }
  const Initializer* q4 = get(base + ".q4");
  const Initializer* q8 = get(base + ".q8");
  const Initializer* codes = q4 ? q4 : q8;
  const Initializer* sc = get(base + ".scales");
  if (!codes || !sc) return std::nullopt;
  const Initializer* zp = get(base + ".zero_points");
  const Initializer* mins = get(base + ".mins");
  const size_t blob = q4 ? 16 : 32;
  if (codes->type != int32_t(ElemType::Uint8) || codes->dims.size() != 3 || size_t(codes->dims[2]) != blob ||
      sc->type != int32_t(ElemType::Float) || sc->elements() != uint64_t(codes->dims[0] * codes->dims[1]))
    throw Error(path + ": initializer " + codes->name + " / " + sc->name +
                " is not MatMulNBits codes [N, blocks, 32 * bits / 8] with one float scale per block");
  const size_t N = size_t(codes->dims[0]), nb = size_t(codes->dims[1]), K = nb * 32, zp_row = (nb + 1) / 2;
  const DType type = q8 ? DType::Q8_0 : mins ? DType::Q4_1 : zp ? DType::Q4_ZP : DType::Q4_0;
  if ((zp && (zp->type != int32_t(ElemType::Uint8) || zp->elements() != N * zp_row)) ||
      (mins && (mins->type != int32_t(ElemType::Float) || mins->elements() != nb * N)) ||
      (q8 && (zp || mins)))
    throw Error(path + ": initializer " + base + ".zero_points / .mins do not match " + codes->name);
  const auto* c = reinterpret_cast<const uint8_t*>(weights.bytes(*codes).data());
  const std::string_view sb = weights.bytes(*sc);
  const auto* z = zp ? reinterpret_cast<const uint8_t*>(weights.bytes(*zp).data()) : nullptr;
  const std::string_view mb = mins ? weights.bytes(*mins) : std::string_view();
  const size_t bb = dtype_traits(type)->block_bytes;
  std::vector<uint8_t> out(N * nb * bb);
  for (size_t r = 0; r < N; ++r)
    for (size_t k = 0; k < nb; ++k) {
      uint8_t* blk = out.data() + (r * nb + k) * bb;
      const uint8_t* src = c + (r * nb + k) * blob;
      float d, m = 0;
      std::memcpy(&d, sb.data() + 4 * (r * nb + k), 4);
      if (mins) std::memcpy(&m, mb.data() + 4 * (k * N + r), 4);
      const uint8_t zk = z ? nbits_zero_point(z + r * zp_row, k) : 0;
      if (type == DType::Q4_1 && zk)
        throw Error(path + ": initializer " + zp->name + " holds a non-zero point next to Q4_1 mins");
      if (type == DType::Q4_ZP) {
        std::memcpy(blk, &d, 4);
        blk[4] = zk;
      } else {
        const uint16_t h = exact_half(d, path, sc->name);
        std::memcpy(blk, &h, 2);
      }
      if (type == DType::Q4_1) {
        const uint16_t h = exact_half(m, path, mins->name);
        std::memcpy(blk + 2, &h, 2);
      }
      if (type == DType::Q8_0) {
        for (size_t j = 0; j < 32; ++j) blk[2 + j] = uint8_t(int8_t(int(src[j]) - 128));
        continue;
      }
      q4_nibbles_from_nbits(src, blk + (type == DType::Q4_ZP ? 5 : type == DType::Q4_1 ? 4 : 2));
    }
  ti.type = type;
  ti.ne = {K, N};
  return std::make_pair(ti, std::move(out));
}

}  // namespace

int probe(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fs::exists(path / "model.onnx", ec) ? 90 : 0;
  return path.extension() == ".onnx" ? 80 : 0;
}

std::unique_ptr<ModelFile> read(const fs::path& input) {
  std::error_code ec;
  const fs::path dir = fs::is_directory(input, ec) ? input : input.parent_path();
  const fs::path model_path = fs::is_directory(input, ec) ? input / "model.onnx" : input;
  const std::string path = model_path.string();
  auto mf = std::make_unique<ModelFile>();
  mf->path = dir.string();
  mf->format = "onnx";
  auto map = MappedFile::open(path);
  mf->storage.push_back(map);
  const Graph g =
      parse_model(std::string_view(reinterpret_cast<const char*>(map->data()), map->size()), path);
  if (is_genai_layout(g)) {
    read_genai(g, dir, path, *mf);
    return mf;
  }
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path, ec))
    throw Error(dir.string() + ": missing config.json next to " + model_path.filename().string());
  const nlohmann::json cfg = read_json_object(config_path);
  if (g.opset != 21)
    throw Error(path + ": opset " + std::to_string(g.opset) +
                "; tern reads the opset-21 graphs tern export writes and ONNX Runtime GenAI's decoders");

  const HfConfig hc = read_hf_config(cfg, config_path.string(), mf->meta, dir.filename().string());
  read_hf_tokenizer(dir, cfg, mf->meta);
  const ArchDescriptor& arch = *hc.arch;
  const std::string a = std::string(arch.name) + ".";
  const int64_t L = mf->get_int(a + "block_count", 0);

  std::map<std::string, const Initializer*> by_name;
  for (const auto& t : g.inits)
    if (!by_name.emplace(t.name, &t).second) throw Error(path + ": initializer " + t.name + " appears twice");
  Weights weights(dir, path, mf->storage);
  auto find = [&](const std::string& name) -> const Initializer& {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw Error(path + ": missing initializer " + name);
    return *it->second;
  };
  auto add = [&](TensorInfo ti, std::vector<uint8_t>&& bytes) {
    uint8_t* dst = mf->alloc(bytes.size());
    std::memcpy(dst, bytes.data(), bytes.size());
    ti.data = dst;
    ti.nbytes = bytes.size();
    mf->tensors.push_back(std::move(ti));
  };
  for (const auto& n : tensor_namings()) {
    if (n.bitlinear_only && !arch.bitlinear) continue;
    if (n.role == TensorRole::Output && hc.tied) continue;
    for (int64_t l = n.per_layer ? 0 : -1; l < (n.per_layer ? L : 0); ++l) {
      const TensorId id{n.role, int(l)};
      const std::string onnx_name = tensor_name(id, NameScheme::Onnx);
      TensorInfo ti;
      ti.name = tensor_name(id);
      if (arch.bitlinear && n.projection) {  // int8 codes [K, N] and one scale -> I2_S
        const Initializer& c = find(onnx_name + ".codes");
        const Initializer& s = find(onnx_name + ".scale");
        if (c.type != int32_t(ElemType::Int8) || c.dims.size() != 2 || s.type != int32_t(ElemType::Float) ||
            !s.dims.empty())
          throw Error(path + ": initializer " + c.name + " / " + s.name +
                      " is not int8 codes [K, N] and a float scale");
        const std::string_view codes = weights.bytes(c), sb = weights.bytes(s);
        float scale;
        std::memcpy(&scale, sb.data(), 4);
        if (!std::isfinite(scale) || scale <= 0)
          throw Error(path + ": initializer " + s.name + " is not a finite positive scale");
        const size_t K = size_t(c.dims[0]), N = size_t(c.dims[1]);
        std::vector<float> w(K * N);
        for (size_t k = 0; k < K; ++k)
          for (size_t r = 0; r < N; ++r) {
            const auto v = int8_t(codes[k * N + r]);
            if (v < -1 || v > 1)
              throw Error(path + ": initializer " + c.name + " holds " + std::to_string(v) +
                          ", not a ternary code");
            w[r * K + k] = float(v) * scale;
          }
        ti.ne = {K, N};
        const DType type = dtype_row_ok(DType::I2_S, K) ? DType::I2_S : DType::F32;
        ti.type = type;
        std::vector<uint8_t> out(dtype_tensor_bytes(type, K, N));
        if (type == DType::I2_S)
          quantize_matrix(type, w.data(), out.data(), K, N, scale);
        else
          std::memcpy(out.data(), w.data(), out.size());
        add(std::move(ti), std::move(out));
        continue;
      }
      if (n.projection) {
        if (auto typed = typed_projection(onnx_name, by_name, weights, path)) {
          typed->first.name = ti.name;
          add(std::move(typed->first), std::move(typed->second));
          continue;
        }
      }
      const Initializer& t = find(onnx_name);
      if (t.type != int32_t(ElemType::Float) || t.dims.empty() || t.dims.size() > 2)
        throw Error(path + ": initializer " + t.name + " is not a float vector or matrix");
      const std::string_view b = weights.bytes(t);
      ti.type = DType::F32;
      std::vector<uint8_t> out(b.size());
      if (t.dims.size() == 1) {
        ti.ne = {uint64_t(t.dims[0])};
        std::memcpy(out.data(), b.data(), b.size());
      } else if (n.projection) {  // stored [K, N] for MatMul: back to N rows of K
        const size_t K = size_t(t.dims[0]), N = size_t(t.dims[1]);
        ti.ne = {K, N};
        const auto* src = reinterpret_cast<const float*>(b.data());
        auto* dst = reinterpret_cast<float*>(out.data());
        for (size_t k = 0; k < K; ++k)
          for (size_t r = 0; r < N; ++r) std::memcpy(dst + r * K + k, src + k * N + r, 4);
      } else {
        ti.ne = {uint64_t(t.dims[1]), uint64_t(t.dims[0])};
        std::memcpy(out.data(), b.data(), b.size());
      }
      add(std::move(ti), std::move(out));
    }
  }
  std::sort(mf->tensors.begin(), mf->tensors.end(),
            [](const TensorInfo& x, const TensorInfo& y) { return x.name < y.name; });
  check_structure(g, decoder_structure(*mf), path, weights);
  return mf;
}

}  // namespace tern::onnx
