#pragma once
// An ONNX model file parsed without generated code: nodes (with their inputs, outputs and attributes),
// initializers (raw data inline or in an external data file) and the graph's inputs and outputs. Every
// length, size and offset is checked; a corrupt or hostile file ends in tern::Error naming the file.
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onnx_builder.h"

namespace tern {
class MappedFile;
}

namespace tern::onnx {

struct Initializer {
  std::string name;
  int32_t type = 0;
  std::vector<int64_t> dims;
  std::string_view inline_data;
  bool external = false, has_other_data = false;
  std::string location;
  uint64_t offset = 0, length = 0;
  bool has_offset = false, has_length = false;
  uint64_t elements() const;  // product of dims (checked against 2^50 when parsed)
};

struct Attribute {
  std::string name;
  bool has_f = false, has_i = false, has_ints = false, has_other = false;
  float f = 0;
  int64_t i = 0;
  std::vector<int64_t> ints;
};

struct Node {
  std::string_view bytes;  // the serialized NodeProto
  std::string name, op, domain;
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attrs;
  const Attribute* attr(std::string_view name) const;
};

struct Graph {
  std::string producer;
  int64_t opset = 0;     // of the default domain
  int64_t ms_opset = 0;  // of com.microsoft, 0 if not imported
  std::vector<Node> nodes;
  std::vector<Initializer> inits;
  std::vector<std::string_view> inputs, outputs;  // serialized ValueInfoProtos
  std::vector<std::string> input_names, output_names;
};

Graph parse_model(std::string_view data, const std::string& path);

// Who produces and who consumes each value of a graph, and checked access to nodes' attributes and
// initializer inputs; errors name the file, the node and `context` (what the reader expected).
class GraphIndex {
 public:
  GraphIndex(const Graph& g, std::string path, std::string context);
  [[noreturn]] void fail(const Node& n, const std::string& why) const;
  [[noreturn]] void fail_init(const std::string& name, const std::string& why) const;
  // Indices of the nodes reading value v (empty if none).
  const std::vector<size_t>& consumers(const std::string& v) const;
  // The index of the node computing v; fails naming `from` if none does.
  size_t producer_index(const std::string& v, const Node& from) const;
  // Input `input` of n, which must be an initializer.
  const Initializer& init(const Node& n, size_t input) const;
  int64_t int_attr(const Node& n, std::string_view name, int64_t fallback) const;
  float float_attr(const Node& n, std::string_view name, float fallback) const;
  // Fails naming any attribute of n outside `known`.
  void only_attrs(const Node& n, std::initializer_list<std::string_view> known) const;
  // Fails unless n is `op` of `domain` ("" also matching "ai.onnx").
  void expect(const Node& n, std::string_view op, std::string_view domain) const;

 protected:
  const Graph& g_;
  std::string path_, context_;

 private:
  std::map<std::string, const Initializer*> inits_;
  std::map<std::string, std::vector<size_t>> consumers_;
  std::map<std::string, size_t> producer_;
};

// Initializer bytes, from the model file or its external data file, every size and offset checked. External
// data files are mapped once and kept alive in `storage`.
class Weights {
 public:
  Weights(const std::filesystem::path& dir, const std::string& model_path,
          std::vector<std::shared_ptr<const void>>& storage)
      : dir_(dir), model_path_(model_path), storage_(storage) {}
  std::string_view bytes(const Initializer& t);

 private:
  std::filesystem::path dir_;
  std::string model_path_;
  std::vector<std::shared_ptr<const void>>& storage_;
  std::map<std::string, const MappedFile*> files_;
};

}  // namespace tern::onnx
