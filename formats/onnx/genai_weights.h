#pragma once
// The numeric halves of reading GenAI decoders: MatMulNBits' blocks repacked into Q4_ZP, and RoPE's base
// frequency recovered from the cos / sin tables the graph carries.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern::onnx {

// MatMulNBits' B (uint8 [rows, n_blocks, block / 2]: element 2i in the low nibble), its scales (f32 or f16,
// [rows * n_blocks]) and packed 4-bit zero points ([rows * ceil(n_blocks / 2)], or nullptr: 8) as `rows`
// Q4_ZP rows of k (block a multiple of 32, k of 32), exactly. Empty if a scale is not finite.
std::vector<uint8_t> q4zp_from_matmul_nbits(const uint8_t* codes, const uint8_t* scales, bool half_scales,
                                            const uint8_t* zero_points, size_t k, size_t rows, size_t block);

// The theta for which cos / sin ([positions, head_dim / 2] f32, unaligned) are RoPE's tables
// cos(p * theta^(-2i / head_dim)) to float rounding; `hint` (a config's rope_theta, or 0) is tried first.
// 0 if no single theta fits (RoPE scaling, another rule).
double rope_theta_from_tables(const uint8_t* cos, const uint8_t* sin, size_t positions, size_t head_dim,
                              double hint);

}  // namespace tern::onnx
