#include "onnx_graph.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tern/error.h"
#include "tern/mapped_file.h"
#include "tern/protobuf.h"

namespace fs = std::filesystem;

namespace tern::onnx {
namespace {

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
      const std::string bad = path + ": initializer " + t.name + ": external_data " + key + " '" + value +
                              "' is not a decimal number below 10^19";
      if (key == "location")
        t.location = value;
      else if (key == "offset")
        t.offset = parse_u64(value, bad), t.has_offset = true;
      else if (key == "length")
        t.length = parse_u64(value, bad), t.has_length = true;
    } else if (field == 14 && wire == 0) {
      t.external = r.varint() == 1;
    } else if ((field >= 4 && field <= 7) || field == 10 || field == 11) {
      t.has_other_data = true;  // float_data, int32_data, ...: the typed fields tern does not read
      r.skip(wire);
    } else {
      r.skip(wire);
    }
  }
  uint64_t n = 1;
  for (int64_t d : t.dims) {
    if (d < 0 || d > (int64_t(1) << 40) || (d && n > (uint64_t(1) << 50) / uint64_t(d)))
      throw Error(path + ": initializer " + t.name + " has an absurd shape (dimension " + std::to_string(d) +
                  ")");
    n *= uint64_t(d);
  }
  return t;
}

Attribute parse_attribute(std::string_view bytes, const std::string& what) {
  Attribute a;
  ProtoReader r(bytes, what);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) {
      a.name = std::string(r.bytes());
    } else if (field == 2 && wire == 5) {
      const uint32_t u = r.fixed32();
      std::memcpy(&a.f, &u, 4);
      a.has_f = true;
    } else if (field == 3 && wire == 0) {
      a.i = int64_t(r.varint());
      a.has_i = true;
    } else if (field == 8 && wire == 0) {
      a.ints.push_back(int64_t(r.varint()));
      a.has_ints = true;
    } else if (field == 8 && wire == 2) {
      ProtoReader d(r.bytes(), what);
      while (!d.done()) a.ints.push_back(int64_t(d.varint()));
      a.has_ints = true;
    } else if (field == 20 || field == 13 || field == 21) {  // type, doc_string, ref_attr_name
      r.skip(wire);
    } else {
      a.has_other = true;  // strings, tensors, graphs: nothing tern's readers accept
      r.skip(wire);
    }
  }
  return a;
}

Node parse_node(std::string_view bytes, const std::string& what) {
  Node n;
  n.bytes = bytes;
  ProtoReader r(bytes, what);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2)
      n.inputs.emplace_back(r.bytes());
    else if (field == 2 && wire == 2)
      n.outputs.emplace_back(r.bytes());
    else if (field == 3 && wire == 2)
      n.name = std::string(r.bytes());
    else if (field == 4 && wire == 2)
      n.op = std::string(r.bytes());
    else if (field == 5 && wire == 2)
      n.attrs.push_back(parse_attribute(r.bytes(), what));
    else if (field == 7 && wire == 2)
      n.domain = std::string(r.bytes());
    else
      r.skip(wire);
  }
  return n;
}

std::string value_info_name(std::string_view bytes, const std::string& what) {
  ProtoReader r(bytes, what);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) return std::string(r.bytes());
    r.skip(wire);
  }
  return "";
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
    case ElemType::BFloat16:
      return 2;
  }
  return 0;
}

}  // namespace

uint64_t Initializer::elements() const {
  uint64_t n = 1;
  for (int64_t d : dims) n *= uint64_t(d);
  return n;
}

const Attribute* Node::attr(std::string_view name) const {
  for (const auto& a : attrs)
    if (a.name == name) return &a;
  return nullptr;
}

Graph parse_model(std::string_view data, const std::string& path) {
  Graph g;
  const std::string corrupt = path + ": not an ONNX model (corrupt protobuf)";
  ProtoReader model(data, corrupt);
  bool have_graph = false;
  while (!model.done()) {
    const auto [field, wire] = model.key();
    if (field == 2 && wire == 2) {
      g.producer = std::string(model.bytes());
    } else if (field == 8 && wire == 2) {
      ProtoReader o(model.bytes(), corrupt);
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
      if (domain == "com.microsoft") g.ms_opset = version;
    } else if (field == 7 && wire == 2) {
      have_graph = true;
      ProtoReader gr(model.bytes(), corrupt);
      while (!gr.done()) {
        const auto [f, w] = gr.key();
        if (f == 1 && w == 2) {
          g.nodes.push_back(parse_node(gr.bytes(), corrupt));
        } else if (f == 5 && w == 2) {
          g.inits.push_back(parse_tensor(gr.bytes(), path));
        } else if (f == 11 && w == 2) {
          g.inputs.push_back(gr.bytes());
          g.input_names.push_back(value_info_name(g.inputs.back(), corrupt));
        } else if (f == 12 && w == 2) {
          g.outputs.push_back(gr.bytes());
          g.output_names.push_back(value_info_name(g.outputs.back(), corrupt));
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

GraphIndex::GraphIndex(const Graph& g, std::string path, std::string context)
    : g_(g), path_(std::move(path)), context_(std::move(context)) {
  for (const auto& t : g.inits)
    if (!inits_.emplace(t.name, &t).second) throw Error(path_ + ": initializer " + t.name + " appears twice");
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) consumers_[in].push_back(i);
    for (const auto& out : g.nodes[i].outputs)
      if (!out.empty() && !producer_.emplace(out, i).second)
        fail(g.nodes[i], "output " + out + " is produced twice");
  }
}

void GraphIndex::fail(const Node& n, const std::string& why) const {
  throw Error(path_ + ": node '" + n.name + "' (" + n.op + "): " + why + " (" + context_ + ")");
}

void GraphIndex::fail_init(const std::string& name, const std::string& why) const {
  throw Error(path_ + ": initializer " + name + ": " + why);
}

const std::vector<size_t>& GraphIndex::consumers(const std::string& v) const {
  static const std::vector<size_t> kNone;
  auto it = consumers_.find(v);
  return it == consumers_.end() ? kNone : it->second;
}

size_t GraphIndex::producer_index(const std::string& v, const Node& from) const {
  auto it = producer_.find(v);
  if (it == producer_.end()) fail(from, "input " + v + " is not computed by a node");
  return it->second;
}

const Initializer& GraphIndex::init(const Node& n, size_t input) const {
  if (input >= n.inputs.size()) fail(n, "has no input " + std::to_string(input));
  auto it = inits_.find(n.inputs[input]);
  if (it == inits_.end()) fail(n, "input " + n.inputs[input] + " is not an initializer");
  return *it->second;
}

int64_t GraphIndex::int_attr(const Node& n, std::string_view name, int64_t fallback) const {
  const Attribute* a = n.attr(name);
  if (!a) return fallback;
  if (!a->has_i) fail(n, "attribute " + std::string(name) + " is not an integer");
  return a->i;
}

float GraphIndex::float_attr(const Node& n, std::string_view name, float fallback) const {
  const Attribute* a = n.attr(name);
  if (!a) return fallback;
  if (!a->has_f) fail(n, "attribute " + std::string(name) + " is not a float");
  return a->f;
}

void GraphIndex::only_attrs(const Node& n, std::initializer_list<std::string_view> known) const {
  for (const auto& a : n.attrs)
    if (std::find(known.begin(), known.end(), a.name) == known.end())
      fail(n, "attribute " + a.name + " is not one tern implements");
}

void GraphIndex::expect(const Node& n, std::string_view op, std::string_view domain) const {
  const bool domain_ok = n.domain == domain || (domain.empty() && n.domain == "ai.onnx");
  if (n.op != op || !domain_ok) fail(n, "expected " + std::string(op) + " here");
}

std::string_view Weights::bytes(const Initializer& t) {
  const size_t es = elem_size(t.type);
  if (!es)
    throw Error(model_path_ + ": initializer " + t.name + " has data type " + std::to_string(t.type) +
                ", which tern does not read");
  const uint64_t want = t.elements() * es;
  if (!t.external) {
    if (t.has_other_data)
      throw Error(model_path_ + ": initializer " + t.name +
                  " keeps its values in typed fields; tern reads raw_data only");
    if (t.inline_data.size() != want)
      throw Error(model_path_ + ": initializer " + t.name + " holds " + std::to_string(t.inline_data.size()) +
                  " bytes, its shape needs " + std::to_string(want));
    return t.inline_data;
  }
  const fs::path loc(t.location);
  const bool plain = !t.location.empty() && !loc.has_root_path() && loc.filename() == loc &&
                     t.location != "." && t.location != "..";
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
    throw Error((dir_ / loc).string() + ": initializer " + t.name + " at offset " + std::to_string(t.offset) +
                " + " + std::to_string(length) + " bytes is past the end of the file (" +
                std::to_string(f.size()) + " bytes)");
  return {reinterpret_cast<const char*>(f.data()) + t.offset, size_t(length)};
}

}  // namespace tern::onnx
