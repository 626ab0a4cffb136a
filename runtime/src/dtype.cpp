#include "tern/dtype.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

#include "tern/error.h"

namespace tern {
namespace {

constexpr DTypeTraits kTraits[] = {
    {DType::F32, "F32", 1, 4, false},
    {DType::F16, "F16", 1, 2, false},
    {DType::BF16, "BF16", 1, 2, false},
    {DType::Q8_0, "Q8_0", 32, 34, false},
    {DType::Q4_0, "Q4_0", 32, 18, false},
    {DType::Q4_1, "Q4_1", 32, 20, false},
    {DType::TQ1_0, "TQ1_0", 256, 54, true},
    {DType::TQ2_0, "TQ2_0", 256, 66, true},
    {DType::I2_S, "I2_S", kI2SBlock, kI2SBlock / 4, true},
    {DType::TL2, "TL2", 1, 0, true},  // any row length (groups are zero-padded); not row-blocked
    {DType::TL1, "TL1", 1, 0, true},  // any row length (pairs are zero-padded); not row-blocked
    {DType::Q4_ZP, "Q4_ZP", 32, kQ4ZPBlockBytes, false},
};

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void store_u16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}

// A weight relative to its tensor scale (given as 1 / scale), rounded to {-1, 0, 1}: I2_S, TL1 and TL2 alike.
inline int8_t to_trit(float x, float inv_scale) {
  return int8_t(std::clamp(std::lround(x * inv_scale), -1L, 1L));
}

constexpr uint8_t kPow3[6] = {1, 3, 9, 27, 81, 243};

// TQ1_0 stores 5 trits per byte as a fixed-point fraction of 3^5; trit n is recovered by multiplying by 3^n
// (mod 256) and taking the top "digit" (x * 3 >> 8).
inline int tq1_trit(uint8_t packed, int n) {
  uint8_t q = uint8_t(packed * kPow3[n]);
  return int((uint16_t(q) * 3) >> 8) - 1;
}

}  // namespace

static_assert(std::size(kTraits) == kDTypeCount);
static_assert(
    [] {
      for (size_t i = 0; i < kDTypeCount; ++i)
        if (dtype_index(kTraits[i].type) != i) return false;
      return true;
    }(),
    "dtype_index must follow kTraits' order");

std::span<const DTypeTraits> all_dtypes() {
  return kTraits;
}

std::span<const DType> kv_cache_types() {
  static constexpr DType kTypes[] = {DType::F32, DType::F16, DType::Q8_0};
  return kTypes;
}

const DTypeTraits* dtype_traits(DType t) {
  for (const auto& tr : kTraits)
    if (tr.type == t) return &tr;
  return nullptr;
}

std::optional<DType> dtype_from_id(uint32_t id) {
  for (const auto& tr : kTraits)
    if (uint32_t(tr.type) == id) return tr.type;
  return std::nullopt;
}

std::string unknown_dtype_description(uint32_t id) {
  // bitnet.cpp's lookup-table types reuse ids GGML later gave other types; both layouts are generated per
  // model shape from bitnet.cpp's kernel configuration, which the file does not carry (docs/tl1.md,
  // docs/tl2.md).
  if (id == 38 || id == 39)
    return "type id " + std::to_string(id) + " (bitnet.cpp's " + (id == 38 ? "TL1" : "TL2") +
           (id == 39 ? ", or GGML's MXFP4" : "") +
           "), which tern cannot read: bitnet.cpp lays it out for its own per-model kernels; convert the "
           "model "
           "to I2_S (bitnet.cpp) or use tern quantize --type " +
           (id == 38 ? "tl1" : "tl2");
  std::string known;
  for (const auto& tr : kTraits)
    known += (known.empty() ? "" : ", ") + std::string(tr.name) + "=" + std::to_string(uint32_t(tr.type));
  return "unknown dtype id " + std::to_string(id) + " (tern reads " + known + ")";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  std::string up(name);
  for (auto& c : up) c = char(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& tr : kTraits)
    if (up == tr.name) return tr.type;
  return std::nullopt;
}

const char* dtype_name(DType t) {
  const auto* tr = dtype_traits(t);
  return tr ? tr->name : "unknown";
}

bool dtype_row_ok(DType t, size_t n_per_row) {
  const auto* tr = dtype_traits(t);
  return tr && n_per_row % tr->block_size == 0;
}

size_t dtype_row_bytes(DType t, size_t n_per_row) {
  const auto* tr = dtype_traits(t);
  if (!tr) throw Error("unknown dtype id " + std::to_string(uint32_t(t)));
  if (dtype_tiled(t))
    throw Error(std::string(tr->name) + " rows are interleaved in tiles and have no byte size of their own");
  return n_per_row / tr->block_size * tr->block_bytes;
}

size_t dtype_row_offset(DType t, size_t n_per_row, size_t row) {
  return t == DType::I2_S ? row * n_per_row / 4 : row * dtype_row_bytes(t, n_per_row);
}

bool dtype_tensor_scaled(DType t) {
  return t == DType::I2_S || dtype_tiled(t);
}

size_t dtype_tensor_bytes(DType t, size_t n_per_row, size_t n_rows) {
  if (t == DType::I2_S) return n_per_row * n_rows / 4 + 32;
  if (t == DType::TL2) return (n_rows + kTL2TileRows - 1) / kTL2TileRows * tl2_tile_bytes(n_per_row) + 32;
  if (t == DType::TL1) return (n_rows + kTL1TileRows - 1) / kTL1TileRows * tl1_tile_bytes(n_per_row) + 32;
  return dtype_row_bytes(t, n_per_row) * n_rows;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000) return uint16_t(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0));  // inf / nan
  if (absx >= 0x477ff000) return uint16_t(sign | 0x7c00);                                    // overflow
  if (absx < 0x38800000) {  // subnormal or zero in half precision
    if (absx < 0x33000000) return uint16_t(sign);
    const uint32_t e = absx >> 23;
    const uint32_t m = (absx & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - e;  // 14 + (113 - e)
    uint32_t half = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = ((absx >> 13) - (112u << 10));
  const uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;
  return uint16_t(sign | half);
}

uint16_t fp32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 64);  // quiet nan
  return uint16_t((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

float tensor_scale(DType t, const uint8_t* data, size_t k, size_t n) {
  if (!dtype_tensor_scaled(t)) return 1.0f;
  float s;
  std::memcpy(&s, data + dtype_tensor_bytes(t, k, n) - 32, 4);
  return s;
}

void set_tensor_scale(DType t, uint8_t* data, size_t k, size_t n, float scale) {
  if (!dtype_tensor_scaled(t)) throw Error(std::string(dtype_name(t)) + " has no whole-tensor scale");
  uint8_t* tail = data + dtype_tensor_bytes(t, k, n) - 32;
  std::memset(tail, 0, 32);
  std::memcpy(tail, &scale, 4);
}

float ternary_absmean_scale(const float* w, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::fabs(double(w[i]));
  return n ? float(sum / double(n)) : 0.0f;
}

void dequantize_row(DType t, const void* row_v, float* out, size_t n, float tensor_scale) {
  const auto* row = static_cast<const uint8_t*>(row_v);
  switch (t) {
    case DType::F32:
      std::memcpy(out, row, n * 4);
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(load_u16(row + 2 * i));
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(load_u16(row + 2 * i));
      return;
    case DType::Q8_0:
      for (size_t b = 0; b < n / 32; ++b, row += 34) {
        const float d = fp16_to_fp32(load_u16(row));
        for (int j = 0; j < 32; ++j) out[b * 32 + j] = d * float(int8_t(row[2 + j]));
      }
      return;
    case DType::Q4_0:
      for (size_t b = 0; b < n / 32; ++b, row += 18) {
        const float d = fp16_to_fp32(load_u16(row));
        for (int j = 0; j < 16; ++j) {
          out[b * 32 + j] = d * float((row[2 + j] & 0xf) - 8);
          out[b * 32 + j + 16] = d * float((row[2 + j] >> 4) - 8);
        }
      }
      return;
    case DType::Q4_1:
      for (size_t b = 0; b < n / 32; ++b, row += 20) {
        const float d = fp16_to_fp32(load_u16(row));
        const float m = fp16_to_fp32(load_u16(row + 2));
        for (int j = 0; j < 16; ++j) {
          out[b * 32 + j] = d * float(row[4 + j] & 0xf) + m;
          out[b * 32 + j + 16] = d * float(row[4 + j] >> 4) + m;
        }
      }
      return;
    case DType::Q4_ZP:
      for (size_t b = 0; b < n / 32; ++b, row += kQ4ZPBlockBytes) {
        float d;
        std::memcpy(&d, row, 4);
        const int z = row[4];
        for (int j = 0; j < 16; ++j) {
          out[b * 32 + j] = d * float((row[5 + j] & 0xf) - z);
          out[b * 32 + j + 16] = d * float((row[5 + j] >> 4) - z);
        }
      }
      return;
    case DType::TQ2_0:
      for (size_t b = 0; b < n / 256; ++b, row += 66) {
        const float d = fp16_to_fp32(load_u16(row + 64));
        float* y = out + b * 256;
        for (int j = 0; j < 64; j += 32)
          for (int l = 0; l < 4; ++l)
            for (int m = 0; m < 32; ++m) *y++ = d * float(((row[j + m] >> (2 * l)) & 3) - 1);
      }
      return;
    case DType::TQ1_0:
      for (size_t b = 0; b < n / 256; ++b, row += 54) {
        const float d = fp16_to_fp32(load_u16(row + 52));
        float* y = out + b * 256;
        for (int nn = 0; nn < 5; ++nn)
          for (int m = 0; m < 32; ++m) *y++ = d * float(tq1_trit(row[m], nn));
        for (int nn = 0; nn < 5; ++nn)
          for (int m = 0; m < 16; ++m) *y++ = d * float(tq1_trit(row[32 + m], nn));
        for (int nn = 0; nn < 4; ++nn)
          for (int j = 0; j < 4; ++j) *y++ = d * float(tq1_trit(row[48 + j], nn));
      }
      return;
    case DType::TL1:
    case DType::TL2:
      break;  // rows are not contiguous: dequantize_rows
    case DType::I2_S:
      for (size_t b = 0; b < n / kI2SBlock; ++b, row += 32)
        for (size_t j = 0; j < kI2SBlock; ++j)
          out[b * kI2SBlock + j] = tensor_scale * float(((row[j % 32] >> (6 - 2 * (j / 32))) & 3) - 1);
      return;
  }
  throw Error(std::string("dequantize: unsupported dtype ") + dtype_name(t));
}

void quantize_row(DType t, const float* x, void* row_v, size_t n, float tensor_scale) {
  auto* row = static_cast<uint8_t*>(row_v);
  switch (t) {
    case DType::F32:
      std::memcpy(row, x, n * 4);
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) store_u16(row + 2 * i, fp32_to_fp16(x[i]));
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) store_u16(row + 2 * i, fp32_to_bf16(x[i]));
      return;
    case DType::Q8_0:
      for (size_t b = 0; b < n / 32; ++b, row += 34, x += 32) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        store_u16(row, fp32_to_fp16(d));
        for (int j = 0; j < 32; ++j) row[2 + j] = uint8_t(int8_t(std::lround(x[j] * id)));
      }
      return;
    case DType::Q4_0:
      for (size_t b = 0; b < n / 32; ++b, row += 18, x += 32) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; ++j)
          if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
        const float d = max / -8.0f, id = d ? 1.0f / d : 0.0f;
        store_u16(row, fp32_to_fp16(d));
        for (int j = 0; j < 16; ++j) {
          const int a = std::min(15, int(x[j] * id + 8.5f));
          const int c = std::min(15, int(x[j + 16] * id + 8.5f));
          row[2 + j] = uint8_t(a | (c << 4));
        }
      }
      return;
    case DType::Q4_1:
      for (size_t b = 0; b < n / 32; ++b, row += 20, x += 32) {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < 32; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
        const float d = (mx - mn) / 15.0f, id = d ? 1.0f / d : 0.0f;
        store_u16(row, fp32_to_fp16(d));
        store_u16(row + 2, fp32_to_fp16(mn));
        for (int j = 0; j < 16; ++j) {
          const int a = std::min(15, int((x[j] - mn) * id + 0.5f));
          const int c = std::min(15, int((x[j + 16] - mn) * id + 0.5f));
          row[4 + j] = uint8_t(a | (c << 4));
        }
      }
      return;
    case DType::Q4_ZP:  // MatMulNBits' asymmetric rule: the range [min(x, 0), max(x, 0)] in 15 steps
      for (size_t b = 0; b < n / 32; ++b, row += kQ4ZPBlockBytes, x += 32) {
        float mn = 0, mx = 0;
        for (int j = 0; j < 32; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
        const float d = (mx - mn) / 15.0f, id = d ? 1.0f / d : 0.0f;
        const int z = d ? int(std::clamp(std::lround(-mn * id), 0L, 15L)) : 8;
        std::memcpy(row, &d, 4);
        row[4] = uint8_t(z);
        for (int j = 0; j < 16; ++j) {
          const int a = int(std::clamp(std::lround(x[j] * id) + z, 0L, 15L));
          const int c = int(std::clamp(std::lround(x[j + 16] * id) + z, 0L, 15L));
          row[5 + j] = uint8_t(a | (c << 4));
        }
      }
      return;
    case DType::TQ2_0:
      for (size_t b = 0; b < n / 256; ++b, row += 66, x += 256) {
        float amax = 0;
        for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float id = amax ? 1.0f / amax : 0.0f;
        for (int j = 0; j < 64; j += 32)
          for (int m = 0; m < 32; ++m) {
            uint8_t q = 0;
            for (int l = 0; l < 4; ++l)
              q |= uint8_t((std::lround(x[j * 4 + l * 32 + m] * id) + 1) << (2 * l));
            row[j + m] = q;
          }
        store_u16(row + 64, fp32_to_fp16(amax));
      }
      return;
    case DType::TQ1_0:
      for (size_t b = 0; b < n / 256; ++b, row += 54, x += 256) {
        float amax = 0;
        for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float id = amax ? 1.0f / amax : 0.0f;
        auto pack = [&](const float* src, int count, int stride, bool shift_last) {
          uint16_t q = 0;
          for (int k = 0; k < count; ++k) q = uint16_t(q * 3 + (std::lround(src[k * stride] * id) + 1));
          if (shift_last) q = uint16_t(q * 3);
          return uint8_t((q * 256 + 242) / 243);
        };
        for (int m = 0; m < 32; ++m) row[m] = pack(x + m, 5, 32, false);
        for (int m = 0; m < 16; ++m) row[32 + m] = pack(x + 160 + m, 5, 16, false);
        for (int j = 0; j < 4; ++j) row[48 + j] = pack(x + 240 + j, 4, 4, true);
        store_u16(row + 52, fp32_to_fp16(amax));
      }
      return;
    case DType::I2_S: {
      const float inv = tensor_scale ? 1.0f / tensor_scale : 0.0f;
      for (size_t b = 0; b < n / kI2SBlock; ++b, row += 32, x += kI2SBlock) {
        std::memset(row, 0, 32);
        for (size_t j = 0; j < kI2SBlock; ++j) {
          row[j % 32] |= uint8_t((to_trit(x[j], inv) + 1) << (6 - 2 * (j / 32)));
        }
      }
      return;
    }
    case DType::TL1:
    case DType::TL2:
      break;  // a whole-tensor layout: quantize_matrix
  }
  throw Error(std::string("quantize: unsupported dtype ") + dtype_name(t));
}

void quantize_matrix(DType t, const float* in, uint8_t* out, size_t k, size_t n, float tensor_scale) {
  if (dtype_tiled(t)) {
    const float inv = tensor_scale ? 1.0f / tensor_scale : 0.0f;
    std::vector<int8_t> trits(k * n);
    for (size_t i = 0; i < k * n; ++i) trits[i] = to_trit(in[i], inv);
    (t == DType::TL1 ? tl1_pack : tl2_pack)(trits.data(), k, n, out);
    set_tensor_scale(t, out, k, n, tensor_scale);
    return;
  }
  if (t == DType::I2_S) {
    quantize_row(t, in, out, k * n, tensor_scale);
    set_tensor_scale(t, out, k, n, tensor_scale);
    return;
  }
  const size_t row_bytes = dtype_row_bytes(t, k);
  for (size_t r = 0; r < n; ++r) quantize_row(t, in + r * k, out + r * row_bytes, k);
}

void dequantize_matrix(DType t, const uint8_t* in, float* out, size_t k, size_t n) {
  dequantize_rows(t, in, k, n, 0, n, out);
}

void dequantize_rows(DType t, const uint8_t* in, size_t k, size_t n, size_t row0, size_t count, float* out) {
  if (row0 + count > n) throw Error("dequantize_rows: rows out of range");
  const float scale = tensor_scale(t, in, k, n);
  if (dtype_tiled(t)) {
    std::vector<int8_t> trits(k);
    for (size_t r = 0; r < count; ++r) {
      (t == DType::TL1 ? tl1_unpack_row : tl2_unpack_row)(in, k, row0 + r, trits.data());
      for (size_t i = 0; i < k; ++i) out[r * k + i] = scale * float(trits[i]);
    }
    return;
  }
  if (t == DType::I2_S) return dequantize_row(t, in + row0 * k / 4, out, k * count, scale);
  const size_t row_bytes = dtype_row_bytes(t, k);
  for (size_t r = 0; r < count; ++r) dequantize_row(t, in + (row0 + r) * row_bytes, out + r * k, k);
}

}  // namespace tern
