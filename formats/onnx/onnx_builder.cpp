#include "onnx_builder.h"

#include <fstream>

#include "tern/error.h"

namespace fs = std::filesystem;

namespace tern::onnx {
namespace {

// onnx.proto field numbers.
namespace f {
constexpr uint32_t kModelIrVersion = 1, kModelProducerName = 2, kModelProducerVersion = 3, kModelGraph = 7,
                   kModelOpset = 8;
constexpr uint32_t kOpsetDomain = 1, kOpsetVersion = 2;
constexpr uint32_t kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12;
constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
                   kNodeDomain = 7;
constexpr uint32_t kAttrName = 1, kAttrF = 2, kAttrI = 3, kAttrT = 5, kAttrInts = 8, kAttrType = 20;
constexpr uint32_t kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9,
                   kTensorExternal = 13, kTensorLocation = 14;
constexpr uint32_t kEntryKey = 1, kEntryValue = 2;
constexpr uint32_t kValueName = 1, kValueType = 2, kTypeTensor = 1, kTensorElemType = 1, kTensorShape = 2,
                   kShapeDim = 1, kDimValue = 1, kDimParam = 2;
}  // namespace f

// AttributeProto.AttributeType
constexpr uint64_t kAttrFloat = 1, kAttrInt = 2, kAttrTensor = 4, kAttrIntList = 7;
// onnx.proto IR version 10 is ONNX 1.16's, the first that knows opset 21.
constexpr int64_t kIrVersion = 10;

ProtoWriter value_info(const std::string& name, ElemType type, const std::vector<Dim>& dims) {
  ProtoWriter shape;
  for (const auto& d : dims) {
    ProtoWriter dim;
    if (d.param.empty())
      dim.int64(f::kDimValue, d.value);
    else
      dim.bytes(f::kDimParam, d.param);
    shape.message(f::kShapeDim, dim);
  }
  ProtoWriter tensor;
  tensor.int32(f::kTensorElemType, int32_t(type));
  tensor.message(f::kTensorShape, shape);
  ProtoWriter t;
  t.message(f::kTypeTensor, tensor);
  ProtoWriter v;
  v.bytes(f::kValueName, name);
  v.message(f::kValueType, t);
  return v;
}

ProtoWriter entry(const std::string& key, const std::string& value) {
  ProtoWriter e;
  e.bytes(f::kEntryKey, key);
  e.bytes(f::kEntryValue, value);
  return e;
}

}  // namespace

Attr Attr::i(const std::string& name, int64_t v) {
  Attr a;
  a.p_.bytes(f::kAttrName, name);
  a.p_.int64(f::kAttrI, v);
  a.p_.varint(f::kAttrType, kAttrInt);
  return a;
}

Attr Attr::f(const std::string& name, float v) {
  Attr a;
  a.p_.bytes(f::kAttrName, name);
  a.p_.fixed32(f::kAttrF, v);
  a.p_.varint(f::kAttrType, kAttrFloat);
  return a;
}

Attr Attr::ints(const std::string& name, const std::vector<int64_t>& v) {
  Attr a;
  a.p_.bytes(f::kAttrName, name);
  for (int64_t x : v) a.p_.int64(f::kAttrInts, x);
  a.p_.varint(f::kAttrType, kAttrIntList);
  return a;
}

Attr Attr::tensor(const std::string& name, const ProtoWriter& t) {
  Attr a;
  a.p_.bytes(f::kAttrName, name);
  a.p_.message(f::kAttrT, t);
  a.p_.varint(f::kAttrType, kAttrTensor);
  return a;
}

std::string GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                               const std::vector<Attr>& attrs, const std::string& output) {
  const std::string out = output.empty() ? "/" + op + "_" + std::to_string(counter_) + "/output_0" : output;
  node_multi(op, inputs, {out}, attrs);
  return out;
}

void GraphBuilder::node_multi(const std::string& op, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& outputs, const std::vector<Attr>& attrs) {
  ProtoWriter n;
  for (const auto& in : inputs) n.bytes(f::kNodeInput, in);
  for (const auto& out : outputs) n.bytes(f::kNodeOutput, out);
  n.bytes(f::kNodeName, "/" + op + "_" + std::to_string(counter_++));
  n.bytes(f::kNodeOpType, op);
  for (const auto& a : attrs) n.message(f::kNodeAttribute, a.proto());
  nodes_.push_back(std::move(n));
}

std::string GraphBuilder::contrib_node(const std::string& op, const std::vector<std::string>& inputs,
                                       const std::vector<Attr>& attrs) {
  const std::string out = "/" + op + "_" + std::to_string(counter_) + "/output_0";
  ProtoWriter n;
  for (const auto& in : inputs) n.bytes(f::kNodeInput, in);
  n.bytes(f::kNodeOutput, out);
  n.bytes(f::kNodeName, "/" + op + "_" + std::to_string(counter_++));
  n.bytes(f::kNodeOpType, op);
  for (const auto& a : attrs) n.message(f::kNodeAttribute, a.proto());
  n.bytes(f::kNodeDomain, kContribDomain);
  nodes_.push_back(std::move(n));
  uses_contrib_ = true;
  return out;
}

std::string GraphBuilder::initializer(const std::string& name, ElemType type,
                                      const std::vector<int64_t>& dims, const void* bytes, size_t nbytes) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  std::vector<uint8_t> data;
  if (p) data.assign(p, p + nbytes);  // weights of a structure-only graph come without data
  // Constants are asked for by name wherever they are needed; the first one defines them.
  for (const auto& init : inits_)
    if (init.name == name) {
      if (init.type != type || init.dims != dims || init.bytes != data)
        throw Error("onnx writer: two different initializers named " + name);
      return name;
    }
  inits_.push_back({name, type, dims, std::move(data)});
  return name;
}

std::string GraphBuilder::f32(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& v) {
  return initializer(name, ElemType::Float, dims, v.data(), v.size() * 4);
}

std::string GraphBuilder::i64(const std::string& name, const std::vector<int64_t>& v) {
  return initializer(name, ElemType::Int64, {int64_t(v.size())}, v.data(), v.size() * 8);
}

std::string GraphBuilder::scalar_f32(const std::string& name, float v) {
  return initializer(name, ElemType::Float, {}, &v, 4);
}

std::string GraphBuilder::scalar_i64(const std::string& name, int64_t v) {
  return initializer(name, ElemType::Int64, {}, &v, 8);
}

void GraphBuilder::input(const std::string& name, ElemType type, const std::vector<Dim>& dims) {
  inputs_.push_back(value_info(name, type, dims));
}

void GraphBuilder::output(const std::string& name, ElemType type, const std::vector<Dim>& dims) {
  outputs_.push_back(value_info(name, type, dims));
}

void GraphBuilder::write(const fs::path& dir, const std::string& model_file, const std::string& graph_name,
                         int64_t opset, const std::string& producer_version) const {
  const std::string data_file = model_file + ".data";
  std::ofstream data(dir / data_file, std::ios::binary);
  uint64_t offset = 0;
  ProtoWriter graph;
  for (const auto& n : nodes_) graph.message(f::kGraphNode, n);
  graph.bytes(f::kGraphName, graph_name);
  for (const auto& init : inits_) {
    ProtoWriter t;
    for (int64_t d : init.dims) t.int64(f::kTensorDims, d);
    t.int32(f::kTensorDataType, int32_t(init.type));
    t.bytes(f::kTensorName, init.name);
    if (init.bytes.size() < kExternalThreshold) {
      t.bytes(f::kTensorRawData,
              std::string_view(reinterpret_cast<const char*>(init.bytes.data()), init.bytes.size()));
    } else {
      // 64-byte aligned offsets let a reader map the tensors in place.
      const uint64_t aligned = (offset + 63) / 64 * 64;
      static const char zeros[64] = {};
      data.write(zeros, std::streamsize(aligned - offset));
      data.write(reinterpret_cast<const char*>(init.bytes.data()), std::streamsize(init.bytes.size()));
      t.message(f::kTensorExternal, entry("location", data_file));
      t.message(f::kTensorExternal, entry("offset", std::to_string(aligned)));
      t.message(f::kTensorExternal, entry("length", std::to_string(init.bytes.size())));
      t.varint(f::kTensorLocation, 1);  // EXTERNAL
      offset = aligned + init.bytes.size();
    }
    graph.message(f::kGraphInitializer, t);
  }
  for (const auto& v : inputs_) graph.message(f::kGraphInput, v);
  for (const auto& v : outputs_) graph.message(f::kGraphOutput, v);
  if (!data.flush()) throw Error((dir / data_file).string() + ": write failed");

  ProtoWriter opset_id;
  opset_id.bytes(f::kOpsetDomain, "");
  opset_id.int64(f::kOpsetVersion, opset);
  ProtoWriter model;
  model.int64(f::kModelIrVersion, kIrVersion);
  model.bytes(f::kModelProducerName, "tern");
  model.bytes(f::kModelProducerVersion, producer_version);
  model.message(f::kModelGraph, graph);
  model.message(f::kModelOpset, opset_id);
  if (uses_contrib_) {
    ProtoWriter contrib;
    contrib.bytes(f::kOpsetDomain, kContribDomain);
    contrib.int64(f::kOpsetVersion, 1);
    model.message(f::kModelOpset, contrib);
  }
  // Protobuf caps a message at 2 GiB; the weights are outside, so only a pathological graph gets there.
  if (model.size() >= (size_t(1) << 31))
    throw Error((dir / model_file).string() + ": graph exceeds protobuf's 2 GiB");
  std::ofstream out(dir / model_file, std::ios::binary);
  out.write(model.str().data(), std::streamsize(model.size()));
  if (!out.flush()) throw Error((dir / model_file).string() + ": write failed");
}

}  // namespace tern::onnx
