#include <cstdio>
#include <cstring>
#include <vector>

#include "gguf.h"
#include "tern/error.h"
#include "tern/mapped_file.h"

namespace tern::gguf {
namespace {

class Writer {
 public:
  Writer(const std::string& path, const std::string& shown) : shown_(shown) {
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) throw Error(shown + ": cannot open for writing: " + std::strerror(errno));
  }
  ~Writer() {
    if (f_) std::fclose(f_);
  }
  void bytes(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n) throw Error(shown_ + ": write failed: " + std::strerror(errno));
    pos_ += n;
  }
  template <class T>
  void put(T v) {
    bytes(&v, sizeof v);
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad(uint64_t alignment) {
    static const uint8_t zeros[64] = {};
    while (pos_ % alignment) bytes(zeros, std::min<uint64_t>(64, alignment - pos_ % alignment));
  }
  void close() {
    if (std::fclose(f_) != 0) {
      f_ = nullptr;
      throw Error(shown_ + ": write failed: " + std::strerror(errno));
    }
    f_ = nullptr;
  }

  void value(const MetaValue& v) {
    switch (v.type) {
      case MetaType::U8:
        put<uint8_t>(uint8_t(v.u));
        break;
      case MetaType::I8:
        put<int8_t>(int8_t(v.i));
        break;
      case MetaType::U16:
        put<uint16_t>(uint16_t(v.u));
        break;
      case MetaType::I16:
        put<int16_t>(int16_t(v.i));
        break;
      case MetaType::U32:
        put<uint32_t>(uint32_t(v.u));
        break;
      case MetaType::I32:
        put<int32_t>(int32_t(v.i));
        break;
      case MetaType::U64:
        put<uint64_t>(v.u);
        break;
      case MetaType::I64:
        put<int64_t>(v.i);
        break;
      case MetaType::F32:
        put<float>(float(v.f));
        break;
      case MetaType::F64:
        put<double>(v.f);
        break;
      case MetaType::BOOL:
        put<uint8_t>(v.u ? 1 : 0);
        break;
      case MetaType::STRING:
        str(v.s);
        break;
      case MetaType::ARRAY:
        put<uint32_t>(uint32_t(v.elem));
        put<uint64_t>(v.arr.size());
        for (const auto& e : v.arr) {
          if (e.type != v.elem) throw Error(shown_ + ": array element type differs from the array's type");
          value(e);
        }
        break;
    }
  }

 private:
  std::FILE* f_ = nullptr;
  std::string shown_;
  uint64_t pos_ = 0;
};

}  // namespace

void write(const ModelFile& m, const std::filesystem::path& path_fs) {
  const std::string path = path_fs.string();
  uint64_t alignment = 32;
  if (const auto* a = m.get("general.alignment")) alignment = uint64_t(a->as_int());
  std::vector<uint64_t> offsets;
  uint64_t off = 0;
  for (const auto& t : m.tensors) {
    if (t.nbytes != dtype_tensor_bytes(t.type, t.ne.at(0), t.n_rows()))
      throw Error(path + ": tensor " + t.name + " has " + std::to_string(t.nbytes) +
                  " bytes, its shape and type need " +
                  std::to_string(dtype_tensor_bytes(t.type, t.ne[0], t.n_rows())));
    offsets.push_back(off);
    off = (off + t.nbytes + alignment - 1) / alignment * alignment;
  }
  write_atomically(path, [&](const std::string& tmp) {
    Writer w(tmp, path);
    w.bytes("GGUF", 4);
    w.put<uint32_t>(3);
    w.put<uint64_t>(m.tensors.size());
    w.put<uint64_t>(m.meta.size());
    // general.architecture first, as llama.cpp's writer does; then the rest in key order.
    auto emit = [&](const std::string& key, const MetaValue& v) {
      w.str(key);
      w.put<uint32_t>(uint32_t(v.type));
      w.value(v);
    };
    if (const auto* a = m.get("general.architecture")) emit("general.architecture", *a);
    for (const auto& [k, v] : m.meta)
      if (k != "general.architecture") emit(k, v);
    for (size_t i = 0; i < m.tensors.size(); ++i) {
      const auto& t = m.tensors[i];
      w.str(t.name);
      w.put<uint32_t>(uint32_t(t.ne.size()));
      for (auto d : t.ne) w.put<uint64_t>(d);
      w.put<uint32_t>(uint32_t(t.type));
      w.put<uint64_t>(offsets[i]);
    }
    w.pad(alignment);
    for (const auto& t : m.tensors) {
      w.bytes(t.data, t.nbytes);
      w.pad(alignment);
    }
    w.close();
  });
}

}  // namespace tern::gguf
