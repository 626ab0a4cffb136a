#pragma once
// Weight and tensor element types. Numeric ids and block layouts are GGML's (and bitnet.cpp's for I2_S), so
// GGUF files move between tern, llama.cpp and bitnet.cpp unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tern {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 8,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  I2_S = 36,  // bitnet.cpp: 2-bit ternary, whole-tensor f32 scale stored after the packed data
  // tern's lookup-table ternary type (docs/tl2.md): 5 bits per 3 weights in 32-row tiles, whole-tensor f32
  // scale. Not bitnet.cpp's TL2 (id 39, whose layout is generated per model shape), hence an id outside
  // GGML's range.
  TL2 = 1002,
  // tern's two-weights-per-index ternary type for Arm table lookups (docs/tl1.md): 4 bits per 2 weights in
  // 16-row tiles, whole-tensor f32 scale. Not bitnet.cpp's TL1 (id 38, per-model layout), hence an id outside
  // GGML's range.
  TL1 = 1001,
  // ONNX MatMulNBits' 4-bit weights, held exactly: blocks of 32 with an f32 scale d and a 4-bit zero point z,
  // value = d * (q - z). Q4_0 / Q4_1 cannot hold them (f16 scales, and Q4_1's min is not d * z). tern's own
  // id.
  Q4_ZP = 1003,
};

struct DTypeTraits {
  DType type;
  const char* name;
  size_t block_size;   // elements per block
  size_t block_bytes;  // bytes per block
  bool ternary;        // values are {-1,0,+1} times a scale; matmul uses int8 activations
};

const DTypeTraits* dtype_traits(DType t);  // nullptr for unknown ids
// Every type tern reads, in table order: what conformance tests and per-type kernel tables iterate over.
std::span<const DTypeTraits> all_dtypes();
// A type's position in all_dtypes(), for arrays indexed by type (kernel tables); kDTypeCount for unknown ids.
inline constexpr size_t kDTypeCount = 12;
// The types a KV cache may be held in (AttentionArgs), in the order of --cache-type-k's help.
std::span<const DType> kv_cache_types();
constexpr size_t dtype_index(DType t) {
  switch (t) {
    case DType::F32:
      return 0;
    case DType::F16:
      return 1;
    case DType::BF16:
      return 2;
    case DType::Q8_0:
      return 3;
    case DType::Q4_0:
      return 4;
    case DType::Q4_1:
      return 5;
    case DType::TQ1_0:
      return 6;
    case DType::TQ2_0:
      return 7;
    case DType::I2_S:
      return 8;
    case DType::TL2:
      return 9;
    case DType::TL1:
      return 10;
    case DType::Q4_ZP:
      return 11;
  }
  return kDTypeCount;
}
std::optional<DType> dtype_from_id(uint32_t id);
// Why `id` is not a type tern reads, for error messages ("unknown dtype id 77 (tern reads ...)").
std::string unknown_dtype_description(uint32_t id);
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive ("q4_1", "I2_S")
const char* dtype_name(DType t);

// Bytes needed to store a tensor with `n_per_row` elements per row and `n_rows` rows. I2_S and TL2 are not
// row-blocked: they store all elements packed plus a 32-byte trailer holding the scale.
size_t dtype_row_bytes(DType t, size_t n_per_row);
size_t dtype_tensor_bytes(DType t, size_t n_per_row, size_t n_rows);
bool dtype_row_ok(DType t, size_t n_per_row);  // n_per_row is a multiple of the block size
// Byte offset of row `row` (I2_S rows are contiguous runs of 2-bit codes, not blocks of row_bytes). Not
// defined for TL2, whose rows are interleaved in tiles: use dequantize_rows.
size_t dtype_row_offset(DType t, size_t n_per_row, size_t row);
// True for types with one f32 scale for the whole tensor in a trailer (I2_S, TL1, TL2).
bool dtype_tensor_scaled(DType t);
// True for types whose rows are interleaved in tiles of rows (TL1, TL2).
inline bool dtype_tiled(DType t) {
  return t == DType::TL1 || t == DType::TL2;
}

// A Q4_ZP block: f32 d, the zero point (0..15) in one byte, then 16 bytes of codes laid out as Q4_0's (byte
// j holds weight j in its low nibble and weight j + 16 in its high nibble).
inline constexpr size_t kQ4ZPBlockBytes = 21;

// I2_S packs 128 weights into 32 bytes: weight j of a block sits in byte j % 32 at bit 6 - 2*(j / 32),
// code 0 = -1, 1 = 0, 2 = +1.
inline constexpr size_t kI2SBlock = 128;

// ---- scalar conversions ----
// Exact for every half, NaN payloads included. Inline: kernels' scalar code (the f16 block scales of every
// TQ / Q block) would otherwise pay a call per block.
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t em = h & 0x7fffu;
  float f;
  if (em >= 0x0400u) {  // normal, infinity or NaN: rebias the exponent (all ones stays all ones)
    uint32_t bits = (em << 13) + ((127u - 15u) << 23);
    if (em >= 0x7c00u) bits += (128u - 16u) << 23;
    bits |= uint32_t(h & 0x8000u) << 16;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  f = float(em) * 0x1p-24f;  // zero or subnormal: em * 2^-24, exact
  return (h & 0x8000u) ? -f : f;
}
uint16_t fp32_to_fp16(float f);
inline float bf16_to_fp32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t fp32_to_bf16(float f);  // round to nearest even

// ---- reference (scalar) row conversion: the oracle for every backend and the quantizer's implementation
// ---- Dequantize elements [0, n) of a row that starts at `row`. For I2_S, `tensor_scale` is the tensor's
// scale (read it with tensor_scale()); other types ignore it.
void dequantize_row(DType t, const void* row, float* out, size_t n, float tensor_scale = 1.0f);
// Quantize a row. Ternary types round to {-1,0,1} relative to `tensor_scale` (I2_S) or the block max (TQ*).
void quantize_row(DType t, const float* in, void* row, size_t n, float tensor_scale = 1.0f);
// Quantizes an n_rows x n_per_row matrix into `out` (dtype_tensor_bytes(t, n_per_row, n_rows) bytes). I2_S
// uses `tensor_scale` for the whole tensor and stores it in the trailer; other types ignore it.
void quantize_matrix(DType t, const float* in, uint8_t* out, size_t n_per_row, size_t n_rows,
                     float tensor_scale = 1.0f);
// The inverse: dequantizes an n_rows x n_per_row matrix (I2_S reads its scale from the trailer) into `out`.
void dequantize_matrix(DType t, const uint8_t* in, float* out, size_t n_per_row, size_t n_rows);
// Rows [row0, row0 + count) of an n_rows x n_per_row tensor of any type, dequantized into out (count x
// n_per_row).
void dequantize_rows(DType t, const uint8_t* tensor, size_t n_per_row, size_t n_rows, size_t row0,
                     size_t count, float* out);
// The trailer scale of an I2_S or TL2 tensor (1 for every other type), and its writer.
float tensor_scale(DType t, const uint8_t* data, size_t n_per_row, size_t n_rows);
void set_tensor_scale(DType t, uint8_t* data, size_t n_per_row, size_t n_rows, float scale);

// ---- TL2 (layout in docs/tl2.md) ----
// Three weights (w0, w1, w2) form a group with code c = 9(w0+1) + 3(w1+1) + (w2+1) in [0, 27). Codes above 13
// are stored as 26 - c (the negated group) plus a sign bit, so each group takes a 4-bit index and one sign
// bit. Rows come in tiles of 32; groups in super-blocks of 8, each 4 x 32 index bytes + 32 sign bytes.
inline constexpr size_t kTL2TileRows = 32;
inline constexpr size_t kTL2SuperGroups = 8;
inline constexpr size_t kTL2SuperBytes = 160;
size_t tl2_groups(size_t n_per_row);      // groups per row, padded to a multiple of kTL2SuperGroups
size_t tl2_tile_bytes(size_t n_per_row);  // bytes of one 32-row tile
// Packs trits (n_rows x n_per_row values in {-1, 0, 1}) into the TL2 data part (without the scale trailer).
void tl2_pack(const int8_t* trits, size_t n_per_row, size_t n_rows, uint8_t* out);
// Unpacks row `row` into n_per_row trits.
void tl2_unpack_row(const uint8_t* data, size_t n_per_row, size_t row, int8_t* trits);

// ---- TL1 (layout in docs/tl1.md) ----
// Two weights (w0, w1) form a pair with index 3(w0+1) + (w1+1) in [0, 9). Rows come in tiles of 16; byte
// 16q + r of a tile holds row r's pairs 2q (low nibble) and 2q + 1 (high nibble). Rows are zero-padded to a
// multiple of 4 weights, tensors to whole tiles.
inline constexpr size_t kTL1TileRows = 16;
size_t tl1_pair_bytes(size_t n_per_row);  // bytes per row within a tile: ceil(n_per_row / 4)
size_t tl1_tile_bytes(size_t n_per_row);  // bytes of one 16-row tile
void tl1_pack(const int8_t* trits, size_t n_per_row, size_t n_rows, uint8_t* out);
void tl1_unpack_row(const uint8_t* data, size_t n_per_row, size_t row, int8_t* trits);

// The BitNet b1.58 absmean quantizer: scale = mean|w|, q = clamp(round(w / scale), -1, 1).
float ternary_absmean_scale(const float* w, size_t n);

}  // namespace tern
