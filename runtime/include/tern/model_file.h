#pragma once
// The in-memory description of a model file, shared by format plugins (which produce and write it) and the
// runtime (which builds a Model from it). Metadata keys follow GGUF's conventions whatever the source format.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tern/dtype.h"

namespace tern {

enum class MetaType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
const char* meta_type_name(MetaType t);

struct MetaValue {
  MetaType type = MetaType::U32;
  MetaType elem = MetaType::U8;  // element type when type == ARRAY
  uint64_t u = 0;                // unsigned ints and BOOL
  int64_t i = 0;                 // signed ints
  double f = 0;                  // F32 / F64
  std::string s;
  std::vector<MetaValue> arr;

  static MetaValue u32(uint32_t v) {
    MetaValue m;
    m.type = MetaType::U32;
    m.u = v;
    return m;
  }
  static MetaValue i32(int32_t v) {
    MetaValue m;
    m.type = MetaType::I32;
    m.i = v;
    return m;
  }
  static MetaValue f32(float v) {
    MetaValue m;
    m.type = MetaType::F32;
    m.f = v;
    return m;
  }
  static MetaValue boolean(bool v) {
    MetaValue m;
    m.type = MetaType::BOOL;
    m.u = v;
    return m;
  }
  static MetaValue str(std::string v) {
    MetaValue m;
    m.type = MetaType::STRING;
    m.s = std::move(v);
    return m;
  }
  static MetaValue array(MetaType elem, std::vector<MetaValue> v) {
    MetaValue m;
    m.type = MetaType::ARRAY;
    m.elem = elem;
    m.arr = std::move(v);
    return m;
  }

  bool is_int() const;
  bool is_float() const { return type == MetaType::F32 || type == MetaType::F64; }
  int64_t as_int() const;                             // any integer or bool; throws on other types
  double as_float() const;                            // any number
  std::string to_string(size_t max_array = 8) const;  // human-readable, arrays abbreviated
  bool operator==(const MetaValue& o) const;
};

struct TensorInfo {
  std::string name;
  DType type = DType::F32;
  std::vector<uint64_t> ne;  // GGML order: ne[0] is the contiguous (row) dimension
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  uint64_t n_elements() const;
  uint64_t n_rows() const { return ne.empty() ? 0 : n_elements() / ne[0]; }
  std::string shape_string() const;
};

struct ModelFile {
  std::string path;    // the file or directory it came from
  std::string format;  // plugin name that produced it
  uint32_t version = 0;
  std::map<std::string, MetaValue> meta;
  std::vector<TensorInfo> tensors;
  // Keeps tensor data alive: an mmap of the file and/or buffers for tensors converted at load time.
  std::vector<std::shared_ptr<const void>> storage;

  const TensorInfo* find(const std::string& name) const;
  const MetaValue* get(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback = "") const;
  bool get_bool(const std::string& key, bool fallback) const;
  // Allocates an owned, 64-byte-aligned buffer that lives as long as this ModelFile.
  uint8_t* alloc(size_t nbytes);
};

}  // namespace tern
