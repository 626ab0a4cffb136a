#include <cstring>
#include <limits>
#include <set>

#include "gguf.h"
#include "tern/error.h"
#include "tern/mapped_file.h"

namespace tern::gguf {
namespace {

constexpr uint64_t kMaxDims = 4;

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, std::string path)
      : p_(data), size_(size), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": " + what + " (at byte " + std::to_string(pos_) + " of " + std::to_string(size_) +
                ")");
  }
  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_) fail(std::string("truncated GGUF: ") + what + " runs past end of file");
  }
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    const uint64_t n = get<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

 private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  std::string path_;
};

size_t min_size(MetaType t) {
  switch (t) {
    case MetaType::U8:
    case MetaType::I8:
    case MetaType::BOOL:
      return 1;
    case MetaType::U16:
    case MetaType::I16:
      return 2;
    case MetaType::U32:
    case MetaType::I32:
    case MetaType::F32:
      return 4;
    case MetaType::STRING:
    case MetaType::U64:
    case MetaType::I64:
    case MetaType::F64:
      return 8;
    case MetaType::ARRAY:
      return 12;
  }
  return 1;
}

MetaValue read_value(Cursor& c, MetaType type, const std::string& key, int depth) {
  MetaValue v;
  v.type = type;
  switch (type) {
    case MetaType::U8:
      v.u = c.get<uint8_t>("value");
      break;
    case MetaType::I8:
      v.i = c.get<int8_t>("value");
      break;
    case MetaType::U16:
      v.u = c.get<uint16_t>("value");
      break;
    case MetaType::I16:
      v.i = c.get<int16_t>("value");
      break;
    case MetaType::U32:
      v.u = c.get<uint32_t>("value");
      break;
    case MetaType::I32:
      v.i = c.get<int32_t>("value");
      break;
    case MetaType::U64:
      v.u = c.get<uint64_t>("value");
      break;
    case MetaType::I64:
      v.i = c.get<int64_t>("value");
      break;
    case MetaType::F32:
      v.f = c.get<float>("value");
      break;
    case MetaType::F64:
      v.f = c.get<double>("value");
      break;
    case MetaType::BOOL: {
      const uint8_t b = c.get<uint8_t>("value");
      if (b > 1) c.fail("metadata " + key + ": invalid bool value " + std::to_string(b));
      v.u = b;
      break;
    }
    case MetaType::STRING:
      v.s = c.str("metadata string");
      break;
    case MetaType::ARRAY: {
      if (depth > 2) c.fail("metadata " + key + ": arrays nested too deeply");
      const uint32_t et = c.get<uint32_t>("array type");
      if (et > uint32_t(MetaType::F64))
        c.fail("metadata " + key + ": unknown array element type " + std::to_string(et));
      v.elem = MetaType(et);
      const uint64_t n = c.get<uint64_t>("array length");
      if (n > c.remaining() / min_size(v.elem))
        c.fail("metadata " + key + ": array of " + std::to_string(n) + " elements cannot fit in the file");
      v.arr.reserve(size_t(n));
      for (uint64_t k = 0; k < n; ++k) v.arr.push_back(read_value(c, v.elem, key, depth + 1));
      break;
    }
  }
  return v;
}

}  // namespace

std::unique_ptr<ModelFile> read(const std::filesystem::path& path_fs) {
  const std::string path = path_fs.string();
  auto map = MappedFile::open(path);
  Cursor c(map->data(), map->size(), path);
  if (map->size() < 4 || std::memcmp(map->data(), "GGUF", 4) != 0)
    throw Error(path + ": not a GGUF file (wrong magic)");
  c.get<uint32_t>("magic");
  auto mf = std::make_unique<ModelFile>();
  mf->path = path;
  mf->format = "gguf";
  mf->version = c.get<uint32_t>("version");
  if (mf->version != 2 && mf->version != 3)
    throw Error(path + ": unsupported GGUF version " + std::to_string(mf->version) + " (supported: 2, 3)");
  const uint64_t n_tensors = c.get<uint64_t>("tensor count");
  const uint64_t n_kv = c.get<uint64_t>("metadata count");
  // Each KV needs at least 12 bytes and each tensor info at least 24: reject absurd counts before looping.
  if (n_kv > c.remaining() / 12) c.fail("metadata count " + std::to_string(n_kv) + " cannot fit in the file");
  if (n_tensors > c.remaining() / 24)
    c.fail("tensor count " + std::to_string(n_tensors) + " cannot fit in the file");
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str("metadata key");
    const uint32_t type = c.get<uint32_t>("metadata type");
    if (type > uint32_t(MetaType::F64))
      c.fail("metadata " + key + ": unknown value type " + std::to_string(type));
    MetaValue v = read_value(c, MetaType(type), key, 0);
    if (!mf->meta.emplace(key, std::move(v)).second) c.fail("duplicate metadata key " + key);
  }
  uint64_t alignment = 32;
  if (const auto* a = mf->get("general.alignment")) {
    if (!a->is_int())
      throw Error(path + ": general.alignment must be an integer, not a " + meta_type_name(a->type));
    if (a->as_int() <= 0 || (a->as_int() & (a->as_int() - 1)) != 0 || a->as_int() > 65536)
      throw Error(path + ": general.alignment " + std::to_string(a->as_int()) +
                  " is not a power of two up to 65536");
    alignment = uint64_t(a->as_int());
  }
  // A tensor count or metadata count that disagrees with the file makes the parser read one section as the
  // other; say so instead of reporting the garbage it then finds.
  const auto hint = [&] { return mf->meta.empty() ? " (is the metadata count of 0 right?)" : ""; };
  struct Pending {
    uint64_t offset;
  };
  std::vector<Pending> offsets;
  std::set<std::string> seen;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = c.str("tensor name");
    if (!seen.insert(t.name).second) c.fail("duplicate tensor name " + t.name);
    const uint32_t n_dims = c.get<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      c.fail("tensor " + t.name + " has " + std::to_string(n_dims) + " dimensions (1 to 4 supported)" +
             hint());
    uint64_t n_elem = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = c.get<uint64_t>("tensor shape");
      if (ne == 0 || ne > (uint64_t(1) << 40) || n_elem > std::numeric_limits<uint64_t>::max() / 2 / ne)
        c.fail("tensor " + t.name + " has an absurd shape");
      n_elem *= ne;
      t.ne.push_back(ne);
    }
    const uint32_t type = c.get<uint32_t>("tensor type");
    const auto dt = dtype_from_id(type);
    if (!dt) c.fail("tensor " + t.name + " has " + unknown_dtype_description(type));
    t.type = *dt;
    if (!dtype_row_ok(t.type, t.ne[0]))
      c.fail("tensor " + t.name + " row length " + std::to_string(t.ne[0]) + " is not a multiple of the " +
             dtype_name(t.type) + " block size");
    t.nbytes = dtype_tensor_bytes(t.type, t.ne[0], n_elem / t.ne[0]);
    const uint64_t off = c.get<uint64_t>("tensor offset");
    if (off % alignment != 0)
      c.fail("tensor " + t.name + " offset is not aligned to " + std::to_string(alignment));
    offsets.push_back({off});
    mf->tensors.push_back(std::move(t));
  }
  const uint64_t data_start = (uint64_t(c.pos()) + alignment - 1) / alignment * alignment;
  // Every bound is checked by subtraction from the file size: data_start + offset could wrap past 2^64 and
  // land before the data section (an offset of 2^64 - 32 points 32 bytes before it).
  const uint64_t file_size = map->size();
  const uint64_t data_size = data_start <= file_size ? file_size - data_start : 0;
  std::vector<ByteRange> ranges;
  for (size_t i = 0; i < mf->tensors.size(); ++i) {
    auto& t = mf->tensors[i];
    const uint64_t off = offsets[i].offset;
    if (off > data_size || t.nbytes > data_size - off)
      throw Error(path + ": tensor " + t.name + " data (" + std::to_string(t.nbytes) +
                  " bytes at data offset " + std::to_string(off) + ") runs past end of file (" +
                  std::to_string(data_size) + " bytes of tensor data after byte " +
                  std::to_string(data_start) + ")");
    t.data = map->data() + data_start + off;
    ranges.push_back({off, t.nbytes, t.name});
  }
  check_disjoint(std::move(ranges), path);
  mf->storage.push_back(map);
  return mf;
}

}  // namespace tern::gguf
