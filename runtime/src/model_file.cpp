#include "tern/model_file.h"

#include <cstdlib>
#include <sstream>

#include "tern/error.h"
#include "tern/plugin/format_api.h"

namespace tern {

const char* meta_type_name(MetaType t) {
  static const char* names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = uint32_t(t);
  return i < 13 ? names[i] : "unknown";
}

bool MetaValue::is_int() const {
  switch (type) {
    case MetaType::U8:
    case MetaType::I8:
    case MetaType::U16:
    case MetaType::I16:
    case MetaType::U32:
    case MetaType::I32:
    case MetaType::U64:
    case MetaType::I64:
    case MetaType::BOOL:
      return true;
    default:
      return false;
  }
}

static bool is_signed(MetaType t) {
  return t == MetaType::I8 || t == MetaType::I16 || t == MetaType::I32 || t == MetaType::I64;
}

int64_t MetaValue::as_int() const {
  if (!is_int())
    throw Error(std::string("metadata value of type ") + meta_type_name(type) + " is not an integer");
  return is_signed(type) ? i : int64_t(u);
}

double MetaValue::as_float() const {
  if (is_float()) return f;
  return double(as_int());
}

std::string MetaValue::to_string(size_t max_array) const {
  std::ostringstream os;
  if (type == MetaType::STRING) {
    os << '"' << s << '"';
  } else if (type == MetaType::BOOL) {
    os << (u ? "true" : "false");
  } else if (is_float()) {
    os << f;
  } else if (type == MetaType::ARRAY) {
    os << "[" << meta_type_name(elem) << " x " << arr.size() << "] [";
    for (size_t k = 0; k < arr.size() && k < max_array; ++k)
      os << (k ? ", " : "") << arr[k].to_string(max_array);
    if (arr.size() > max_array) os << ", ...";
    os << "]";
  } else {
    os << as_int();
  }
  return os.str();
}

bool MetaValue::operator==(const MetaValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case MetaType::STRING:
      return s == o.s;
    case MetaType::F32:
    case MetaType::F64:
      return f == o.f;
    case MetaType::ARRAY:
      return elem == o.elem && arr == o.arr;
    default:
      return as_int() == o.as_int();
  }
}

uint64_t TensorInfo::n_elements() const {
  uint64_t n = 1;
  for (auto d : ne) n *= d;
  return n;
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t k = 0; k < ne.size(); ++k) s += (k ? ", " : "") + std::to_string(ne[k]);
  return s + "]";
}

const TensorInfo* ModelFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const MetaValue* ModelFile::get(const std::string& key) const {
  auto it = meta.find(key);
  return it == meta.end() ? nullptr : &it->second;
}

int64_t ModelFile::get_int(const std::string& key, int64_t fallback) const {
  const auto* v = get(key);
  if (!v) return fallback;
  if (!v->is_int()) throw Error(path + ": metadata " + key + " should be an integer");
  return v->as_int();
}

double ModelFile::get_float(const std::string& key, double fallback) const {
  const auto* v = get(key);
  if (!v) return fallback;
  if (!v->is_int() && !v->is_float()) throw Error(path + ": metadata " + key + " should be a number");
  return v->as_float();
}

std::string ModelFile::get_string(const std::string& key, const std::string& fallback) const {
  const auto* v = get(key);
  if (!v) return fallback;
  if (v->type != MetaType::STRING) throw Error(path + ": metadata " + key + " should be a string");
  return v->s;
}

bool ModelFile::get_bool(const std::string& key, bool fallback) const {
  const auto* v = get(key);
  if (!v) return fallback;
  if (!v->is_int()) throw Error(path + ": metadata " + key + " should be a bool");
  return v->as_int() != 0;
}

uint8_t* ModelFile::alloc(size_t nbytes) {
  void* p = std::aligned_alloc(64, (nbytes + 63) / 64 * 64 + 64);
  if (!p) throw Error(path + ": out of memory allocating " + std::to_string(nbytes) + " bytes");
  storage.emplace_back(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  return static_cast<uint8_t*>(p);
}

void FormatPlugin::write(const ModelFile&, const std::filesystem::path& path, const WriteOptions&) const {
  throw Error(path.string() + ": the " + name() + " format plugin cannot write files");
}

}  // namespace tern
