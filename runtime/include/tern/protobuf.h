#pragma once
// Protobuf wire format, writing side: what tern needs to emit SentencePiece models and ONNX graphs without
// generated code. Messages are built inside out: a nested message is written into its own ProtoWriter and
// added to its parent as bytes.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "tern/error.h"

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

// The reading side: a cursor over one message's bytes that checks every length against what is left, so a
// truncated or hostile message ends in tern::Error(`what`), never a read past the end.
class ProtoReader {
 public:
  ProtoReader(std::string_view data, std::string what) : d_(data), what_(std::move(what)) {}
  bool done() const { return pos_ >= d_.size(); }
  // The next field's number and wire type.
  std::pair<uint32_t, uint32_t> key() {
    const uint64_t k = varint();
    if ((k >> 3) == 0 || (k >> 3) > 0x1fffffff) fail();
    return {uint32_t(k >> 3), uint32_t(k & 7)};
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= d_.size()) fail();
      const auto b = static_cast<unsigned char>(d_[pos_++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail();
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > d_.size() - pos_) fail();
    auto s = d_.substr(pos_, size_t(n));
    pos_ += size_t(n);
    return s;
  }
  uint32_t fixed32() {
    if (d_.size() - pos_ < 4) fail();
    uint32_t v;
    std::memcpy(&v, d_.data() + pos_, 4);
    pos_ += 4;
    return v;
  }
  void skip(uint32_t wire) {
    if (wire == 0)
      varint();
    else if (wire == 1) {
      if (d_.size() - pos_ < 8) fail();
      pos_ += 8;
    } else if (wire == 2)
      bytes();
    else if (wire == 5)
      fixed32();
    else
      fail();
  }
  [[noreturn]] void fail() const { throw Error(what_); }
  const std::string& what() const { return what_; }

 private:
  std::string_view d_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace tern
