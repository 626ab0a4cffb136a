#pragma once
// Protobuf wire format, writing side: what tern needs to emit SentencePiece models and ONNX graphs without
// generated code. Messages are built inside out: a nested message is written into its own ProtoWriter and
// added to its parent as bytes.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tern {

class ProtoWriter {
 public:
  void varint(uint32_t field, uint64_t v) {
    key(field, 0);
    raw_varint(v);
  }
  void int64(uint32_t field, int64_t v) { varint(field, uint64_t(v)); }  // negatives take 10 bytes
  void int32(uint32_t field, int32_t v) { varint(field, uint64_t(int64_t(v))); }
  void fixed32(uint32_t field, float f) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &f, 4);
    out_.append(b, 4);
  }
  void bytes(uint32_t field, std::string_view s) {
    key(field, 2);
    raw_varint(s.size());
    out_.append(s);
  }
  void message(uint32_t field, const ProtoWriter& m) { bytes(field, m.str()); }
  const std::string& str() const { return out_; }
  size_t size() const { return out_.size(); }

 private:
  void key(uint32_t field, uint32_t wire) { raw_varint(uint64_t(field) << 3 | wire); }
  void raw_varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(char(v | 0x80));
      v >>= 7;
    }
    out_.push_back(char(v));
  }
  std::string out_;
};

}  // namespace tern
