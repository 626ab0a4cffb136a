// Compiled with the AVX-512 kernels' flags (CMakeLists.txt).
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC PR 105593; see x86_kernels_avx512.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "multiply_add_ceiling.h"

namespace tern::x86 {

int32_t multiply_add_ceiling_avx512vnni(size_t n_steps) {
  const __m512i c0 = _mm512_set1_epi8(1), c1 = _mm512_set1_epi8(2), c2 = _mm512_set1_epi8(0),
                c3 = _mm512_set1_epi8(3);
  const __m512i x0 = _mm512_set1_epi8(3), x1 = _mm512_set1_epi8(-5), x2 = _mm512_set1_epi8(7),
                x3 = _mm512_set1_epi8(-11);
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
          a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  for (size_t i = 0; i < n_steps; ++i) {
    // Written out, as in multiply_add_ceiling_avx2, so that all 16 accumulators stay in registers; two
    // statements, because one asm takes at most 30 operands. AT&T order: vpdpbusd signed, unsigned,
    // accumulator.
    asm("vpdpbusd %[x0], %[c0], %[a0]\n\t"
        "vpdpbusd %[x0], %[c1], %[a1]\n\t"
        "vpdpbusd %[x0], %[c2], %[a2]\n\t"
        "vpdpbusd %[x0], %[c3], %[a3]\n\t"
        "vpdpbusd %[x1], %[c0], %[a4]\n\t"
        "vpdpbusd %[x1], %[c1], %[a5]\n\t"
        "vpdpbusd %[x1], %[c2], %[a6]\n\t"
        "vpdpbusd %[x1], %[c3], %[a7]"
        : [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3), [a4] "+v"(a4), [a5] "+v"(a5),
          [a6] "+v"(a6), [a7] "+v"(a7)
        : [c0] "v"(c0), [c1] "v"(c1), [c2] "v"(c2), [c3] "v"(c3), [x0] "v"(x0), [x1] "v"(x1));
    asm("vpdpbusd %[x2], %[c0], %[a8]\n\t"
        "vpdpbusd %[x2], %[c1], %[a9]\n\t"
        "vpdpbusd %[x2], %[c2], %[a10]\n\t"
        "vpdpbusd %[x2], %[c3], %[a11]\n\t"
        "vpdpbusd %[x3], %[c0], %[a12]\n\t"
        "vpdpbusd %[x3], %[c1], %[a13]\n\t"
        "vpdpbusd %[x3], %[c2], %[a14]\n\t"
        "vpdpbusd %[x3], %[c3], %[a15]"
        : [a8] "+v"(a8), [a9] "+v"(a9), [a10] "+v"(a10), [a11] "+v"(a11), [a12] "+v"(a12), [a13] "+v"(a13),
          [a14] "+v"(a14), [a15] "+v"(a15)
        : [c0] "v"(c0), [c1] "v"(c1), [c2] "v"(c2), [c3] "v"(c3), [x2] "v"(x2), [x3] "v"(x3));
  }
  const __m512i sum = _mm512_add_epi32(
      _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                       _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7))),
      _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11)),
                       _mm512_add_epi32(_mm512_add_epi32(a12, a13), _mm512_add_epi32(a14, a15))));
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, sum);
  int32_t total = 0;
  for (int32_t v : lanes) total += v;
  return total;
}

}  // namespace tern::x86
