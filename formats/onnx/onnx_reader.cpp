// Reading ONNX decoders: the protobuf is parsed with bounds checks, external data is mapped and every offset
// checked, and the graph must be exactly the one tern's writer makes for the weights found (node for node),
// so an ONNX file tern does not understand is refused naming the first node or initializer that differs,
// never run as a wrong model.
#include "onnx_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "onnx_writer.h"
#include "tern/convert.h"
#include "tern/error.h"
#include "tern/hf_config.h"
#include "tern/mapped_file.h"
#include "tern/protobuf.h"

namespace fs = std::filesystem;

namespace tern::onnx {
namespace {

struct Initializer {
  std::string name;
  int32_t type = 0;
  std::vector<int64_t> dims;
  std::string_view inline_data;
  bool external = false, has_other_data = false;
  std::string location;
  uint64_t offset = 0, length = 0;
  bool has_offset = false, has_length = false;
};

struct Graph {
  std::string producer;
  int64_t opset = 0;
  std::vector<std::string_view> nodes;  // serialized NodeProtos
  std::vector<std::string> node_names, node_ops;
  std::vector<Initializer> inits;
  std::vector<std::string_view> inputs, outputs;  // serialized ValueInfoProtos
};

uint64_t parse_u64(const std::string& s, const std::string& what) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) throw Error(what);
  for (char c : s) v = v * 10 + uint64_t(c - '0');
  return v;
}

Initializer parse_tensor(std::string_view bytes, const std::string& path) {
  Initializer t;
  ProtoReader r(bytes, path + ": corrupt protobuf in an initializer");
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 0) {
      t.dims.push_back(int64_t(r.varint()));
    } else if (field == 1 && wire == 2) {  // packed dims
      ProtoReader d(r.bytes(), r.what());
      while (!d.done()) t.dims.push_back(int64_t(d.varint()));
    } else if (field == 2 && wire == 0) {
      t.type = int32_t(r.varint());
    } else if (field == 8 && wire == 2) {
      t.name = std::string(r.bytes());
    } else if (field == 9 && wire == 2) {
      t.inline_data = r.bytes();
    } else if (field == 13 && wire == 2) {
      ProtoReader e(r.bytes(), r.what());
      std::string key, value;
      while (!e.done()) {
        const auto [f, w] = e.key();
        if (f == 1 && w == 2)
          key = std::string(e.bytes());
        else if (f == 2 && w == 2)
          value = std::string(e.bytes());
        else
          e.skip(w);
      }
      const std::string bad =
          path + ": initializer " + t.name + ": external_data " + key + " '" + value + "' is not a number";
      if (key == "location")
        t.location = value;
      else if (key == "offset")
        t.offset = parse_u64(value, bad), t.has_offset = true;
      else if (key == "length")
        t.length = parse_u64(value, bad), t.has_length = true;
    } else if (field == 14 && wire == 0) {
      t.external = r.varint() == 1;
    } else if ((field >= 4 && field <= 7) || field == 10 || field == 11) {
      t.has_other_data = true;  // float_data, int32_data, ...: not what tern writes
      r.skip(wire);
    } else {
      r.skip(wire);
    }
  }
  for (int64_t d : t.dims)
    if (d < 0 || d > (int64_t(1) << 40))
      throw Error(path + ": initializer " + t.name + " has an absurd dimension " + std::to_string(d));
  return t;
}

Graph parse_model(std::string_view data, const std::string& path) {
  Graph g;
  ProtoReader model(data, path + ": not an ONNX model (corrupt protobuf)");
  bool have_graph = false;
  while (!model.done()) {
    const auto [field, wire] = model.key();
    if (field == 2 && wire == 2) {
      g.producer = std::string(model.bytes());
    } else if (field == 8 && wire == 2) {
      ProtoReader o(model.bytes(), model.what());
      std::string domain;
      int64_t version = 0;
      while (!o.done()) {
        const auto [f, w] = o.key();
        if (f == 1 && w == 2)
          domain = std::string(o.bytes());
        else if (f == 2 && w == 0)
          version = int64_t(o.varint());
        else
          o.skip(w);
      }
      if (domain.empty() || domain == "ai.onnx") g.opset = version;
    } else if (field == 7 && wire == 2) {
      have_graph = true;
      ProtoReader gr(model.bytes(), model.what());
      while (!gr.done()) {
        const auto [f, w] = gr.key();
        if (f == 1 && w == 2) {
          const std::string_view node = gr.bytes();
          g.nodes.push_back(node);
          ProtoReader n(node, gr.what());
          std::string name, op;
          while (!n.done()) {
            const auto [nf, nw] = n.key();
            if (nf == 3 && nw == 2)
              name = std::string(n.bytes());
            else if (nf == 4 && nw == 2)
              op = std::string(n.bytes());
            else
              n.skip(nw);
          }
          g.node_names.push_back(name);
          g.node_ops.push_back(op);
        } else if (f == 5 && w == 2) {
          g.inits.push_back(parse_tensor(gr.bytes(), path));
        } else if (f == 11 && w == 2) {
          g.inputs.push_back(gr.bytes());
        } else if (f == 12 && w == 2) {
          g.outputs.push_back(gr.bytes());
        } else {
          gr.skip(w);
        }
      }
    } else {
      model.skip(wire);
    }
  }
  if (!have_graph) throw Error(path + ": not an ONNX model (no graph)");
  return g;
}

size_t elem_size(int32_t type) {
  switch (ElemType(type)) {
    case ElemType::Float:
    case ElemType::Int32:
      return 4;
    case ElemType::Int64:
      return 8;
    case ElemType::Int8:
    case ElemType::Uint8:
    case ElemType::Bool:
      return 1;
    case ElemType::Float16:
      return 2;
  }
  return 0;
}

// Initializer bytes, from the model file or its external data file, every size and offset checked.
class Weights {
 public:
  Weights(const fs::path& dir, const std::string& model_path,
          std::vector<std::shared_ptr<const void>>& storage)
      : dir_(dir), model_path_(model_path), storage_(storage) {}

  std::string_view bytes(const Initializer& t) {
    const size_t es = elem_size(t.type);
    if (!es)
      throw Error(model_path_ + ": initializer " + t.name + " has data type " + std::to_string(t.type) +
                  ", which tern does not read");
    uint64_t n = 1;
    for (int64_t d : t.dims) {
      if (d && n > (uint64_t(1) << 50) / uint64_t(d))
        throw Error(model_path_ + ": initializer " + t.name + " has an absurd shape");
      n *= uint64_t(d);
    }
    const uint64_t want = n * es;
    if (!t.external) {
      if (t.has_other_data)
        throw Error(model_path_ + ": initializer " + t.name +
                    " keeps its values in typed fields; tern reads raw_data only");
      if (t.inline_data.size() != want)
        throw Error(model_path_ + ": initializer " + t.name + " holds " +
                    std::to_string(t.inline_data.size()) + " bytes, its shape needs " + std::to_string(want));
      return t.inline_data;
    }
    const fs::path loc(t.location);
    bool plain = !t.location.empty() && !loc.has_root_path() && loc.filename() == loc && t.location != "." &&
                 t.location != "..";
    if (!plain)
      throw Error(model_path_ + ": initializer " + t.name + ": external data location '" + t.location +
                  "' is not a file next to the model");
    auto it = files_.find(t.location);
    if (it == files_.end()) {
      auto map = MappedFile::open((dir_ / loc).string());
      storage_.push_back(map);
      it = files_.emplace(t.location, map.get()).first;
    }
    const MappedFile& f = *it->second;
    const uint64_t length = t.has_length ? t.length : want;
    if (length != want)
      throw Error(model_path_ + ": initializer " + t.name + ": external length " + std::to_string(length) +
                  " does not match its shape (" + std::to_string(want) + " bytes)");
    if (t.offset > f.size() || length > f.size() - t.offset)
      throw Error((dir_ / loc).string() + ": initializer " + t.name + " at offset " +
                  std::to_string(t.offset) + " + " + std::to_string(length) +
                  " bytes is past the end of the file (" + std::to_string(f.size()) + " bytes)");
    return {reinterpret_cast<const char*>(f.data()) + t.offset, size_t(length)};
  }

 private:
  fs::path dir_;
  std::string model_path_;
  std::vector<std::shared_ptr<const void>>& storage_;
  std::map<std::string, const MappedFile*> files_;
};

// Compares the file's graph with the one tern's writer makes for these weights; names the first difference.
void check_structure(const Graph& g, const GraphBuilder& want, const std::string& path, Weights& weights) {
  const auto& nodes = want.nodes();
  for (size_t i = 0; i < std::max(nodes.size(), g.nodes.size()); ++i) {
    if (i < nodes.size() && i < g.nodes.size() && nodes[i].str() == g.nodes[i]) continue;
    if (i >= g.nodes.size())
      throw Error(path + ": the graph ends after " + std::to_string(i) +
                  " nodes, before tern's decoder does");
    throw Error(path + ": node '" + g.node_names[i] + "' (" + g.node_ops[i] +
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
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path, ec))
    throw Error(dir.string() + ": missing config.json next to " + model_path.filename().string());
  const nlohmann::json cfg = read_json_object(config_path);

  auto mf = std::make_unique<ModelFile>();
  mf->path = dir.string();
  mf->format = "onnx";
  auto map = MappedFile::open(path);
  mf->storage.push_back(map);
  const Graph g =
      parse_model(std::string_view(reinterpret_cast<const char*>(map->data()), map->size()), path);
  if (g.opset != 21)
    throw Error(path + ": opset " + std::to_string(g.opset) +
                "; tern reads the opset-21 graphs tern export writes");

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
