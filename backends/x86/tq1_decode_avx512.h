#pragma once
// TQ1_0's base-3 decode in 512-bit registers, for the files compiled with AVX-512 flags (the VNNI kernels and
// their SIMDe twin, the AMX kernels): include after the intrinsics header (or SIMDe's). In an unnamed
// namespace for the reason simd_reduce.h gives.
//
// The scheme of x86_kernels_avx2.cpp: trit n of byte p is the top base-3 digit of p * 3^n mod 256, (p * 3) >>
// 8 by two rounding averages. Plane n of bytes 0-31 holds elements 32n..32n+31, so two planes side by side
// are 64 elements in order: three vectors hold elements 0-159 (the third's upper half, plane 5, is
// replaced), one holds bytes 32-47's planes 0-3 (elements 160-223), and the third's upper half takes plane 4
// of bytes 32-47 (224-239) and planes 0-3 of bytes 48-51 (240-255).
#include <cstdint>
#include <cstring>

namespace tern::x86 {
namespace {

inline __m512i times9_u8(__m512i x) {
  return _mm512_add_epi8(_mm512_and_si512(_mm512_slli_epi16(x, 3), _mm512_set1_epi8(char(0xf8))), x);
}
inline __m256i times9_u8(__m256i x) {
  return _mm256_add_epi8(_mm256_and_si256(_mm256_slli_epi16(x, 3), _mm256_set1_epi8(char(0xf8))), x);
}
inline __m128i times9_u8(__m128i x) {
  return _mm_add_epi8(_mm_and_si128(_mm_slli_epi16(x, 3), _mm_set1_epi8(char(0xf8))), x);
}
inline __m256i times3_u8(__m256i x) {
  return _mm256_add_epi8(x, _mm256_add_epi8(x, x));
}
inline __m128i times3_u8(__m128i x) {
  return _mm_add_epi8(x, _mm_add_epi8(x, x));
}
inline __m512i top_trit_u8(__m512i p) {
  const __m512i pm = _mm512_subs_epu8(p, _mm512_set1_epi8(1));
  const __m512i c = _mm512_avg_epu8(pm, _mm512_avg_epu8(pm, _mm512_setzero_si512()));
  return _mm512_and_si512(_mm512_srli_epi16(c, 6), _mm512_set1_epi8(3));
}

// The codes (weight + 1) of one 54-byte TQ1_0 block, as bytes: elements 0-63, 64-127, 160-223 in order, and
// 128-159 in the low half of the fourth vector with 224-255 in its high half.
struct Tq1BlockCodes {
  __m512i e0_63, e64_127, e160_223, e128_159_224_255;
};

inline Tq1BlockCodes tq1_block_codes(const uint8_t* blk) {
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk));
  const __m512i x01 = _mm512_inserti64x4(_mm512_castsi256_si512(x), times3_u8(x), 1);  // elements 0-63
  const __m512i x23 = times9_u8(x01);                                                  // 64-127
  const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 32));
  const __m256i y01 = _mm256_inserti128_si256(_mm256_castsi128_si256(y), times3_u8(y), 1);
  const __m256i y23 = times9_u8(y01);
  const __m512i y0123 = _mm512_inserti64x4(_mm512_castsi256_si512(y01), y23, 1);  // 160-223
  int32_t h;
  std::memcpy(&h, blk + 48, 4);
  const __m128i z = _mm_set1_epi32(h), z3 = times3_u8(z);
  const __m128i z0123 =
      _mm_blend_epi32(_mm_blend_epi32(z, z3, 0x2), times9_u8(_mm_blend_epi32(z, z3, 0x8)), 0xc);
  const __m256i tail =
      _mm256_inserti128_si256(_mm256_castsi128_si256(times9_u8(_mm256_castsi256_si128(y23))), z0123, 1);
  const __m512i x4_tail = _mm512_inserti64x4(times9_u8(x23), tail, 1);  // 128-159, 224-255
  return {top_trit_u8(x01), top_trit_u8(x23), top_trit_u8(y0123), top_trit_u8(x4_tail)};
}

}  // namespace
}  // namespace tern::x86
