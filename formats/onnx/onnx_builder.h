#pragma once
// Building an ONNX model (onnx.proto's ModelProto) node by node, and writing it with its large initializers
// in an external data file, as ONNX Runtime GenAI's model builder lays out model.onnx + model.onnx.data.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tern/protobuf.h"

namespace tern::onnx {

// onnx.proto TensorProto.DataType
enum class ElemType : int32_t {
  Float = 1,
  Uint8 = 2,
  Int8 = 3,
  Int32 = 6,
  Int64 = 7,
  Bool = 9,
  Float16 = 10,
  BFloat16 = 16
};

// A dimension of a graph input or output: a fixed size or a named symbolic one ("batch_size").
struct Dim {
  int64_t value = -1;
  std::string param;
  Dim(int64_t v) : value(v) {}  // NOLINT: sizes read naturally as {1, "sequence_length", 64}
  Dim(const char* p) : param(p) {}
};

class Attr {
 public:
  static Attr i(const std::string& name, int64_t v);
  static Attr f(const std::string& name, float v);
  static Attr ints(const std::string& name, const std::vector<int64_t>& v);
  static Attr tensor(const std::string& name, const ProtoWriter& t);
  const ProtoWriter& proto() const { return p_; }

 private:
  ProtoWriter p_;
};

class GraphBuilder {
 public:
  // Without data, weight initializers keep their name, type and shape only (constants keep their bytes):
  // the graph's structure, which the reader compares a file against.
  explicit GraphBuilder(bool with_data = true) : with_data_(with_data) {}
  bool with_data() const { return with_data_; }

  // Initializers of at least this many bytes go to the external data file.
  static constexpr size_t kExternalThreshold = 1024;

  // Adds a node; returns its first output's name (made unique from `op` unless `output` is given).
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attr>& attrs = {}, const std::string& output = "");
  // A node of ONNX Runtime's contrib operators (com.microsoft, opset 1, e.g. MatMulNBits); the model then
  // imports that domain.
  std::string contrib_node(const std::string& op, const std::vector<std::string>& inputs,
                           const std::vector<Attr>& attrs = {});
  static constexpr const char* kContribDomain = "com.microsoft";
  // A node with several outputs, all named by the caller.
  void node_multi(const std::string& op, const std::vector<std::string>& inputs,
                  const std::vector<std::string>& outputs, const std::vector<Attr>& attrs = {});

  // Initializers; `bytes` is the little-endian raw data of `dims` elements of `type`.
  std::string initializer(const std::string& name, ElemType type, const std::vector<int64_t>& dims,
                          const void* bytes, size_t nbytes);
  std::string f32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v);
  std::string i64(const std::string& name, const std::vector<int64_t>& v);  // 1-D
  std::string scalar_f32(const std::string& name, float v);
  std::string scalar_i64(const std::string& name, int64_t v);

  void input(const std::string& name, ElemType type, const std::vector<Dim>& dims);
  void output(const std::string& name, ElemType type, const std::vector<Dim>& dims);

  // Writes `dir`/`model_file` and `dir`/`model_file`.data (opset `opset` of the default domain).
  void write(const std::filesystem::path& dir, const std::string& model_file, const std::string& graph_name,
             int64_t opset, const std::string& producer_version) const;

 public:
  struct Initializer {
    std::string name;
    ElemType type;
    std::vector<int64_t> dims;
    std::vector<uint8_t> bytes;
  };
  const std::vector<ProtoWriter>& nodes() const { return nodes_; }
  const std::vector<ProtoWriter>& inputs() const { return inputs_; }
  const std::vector<ProtoWriter>& outputs() const { return outputs_; }
  const std::vector<Initializer>& initializers() const { return inits_; }

 private:
  bool with_data_ = true;
  std::vector<ProtoWriter> nodes_;
  std::vector<Initializer> inits_;
  std::vector<ProtoWriter> inputs_, outputs_;
  size_t counter_ = 0;
  bool uses_contrib_ = false;
};

}  // namespace tern::onnx
