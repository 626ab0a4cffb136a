// Compiled with the AVX-512 kernels' flags (CMakeLists.txt).
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC PR 105593; see x86_kernels_avx512.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "dpbusd_avx512.h"
#include "multiply_add_ceiling.h"

namespace tern::x86 {

int32_t multiply_add_ceiling_avx512vnni(size_t n_steps) {
  const __m512i c0 = _mm512_set1_epi8(1), c1 = _mm512_set1_epi8(2), c2 = _mm512_set1_epi8(0),
                c3 = _mm512_set1_epi8(3);
  const __m512i x0 = _mm512_set1_epi8(5), x1 = _mm512_set1_epi8(-5), x2 = _mm512_set1_epi8(7),
                x3 = _mm512_set1_epi8(-11);
  // Named variables, not an array: GCC keeps an array of accumulators that lives across the loop in memory.
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
          a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  for (size_t i = 0; i < n_steps; ++i) {
    a0 = dpbusd(a0, c0, x0), a1 = dpbusd(a1, c1, x0), a2 = dpbusd(a2, c2, x0), a3 = dpbusd(a3, c3, x0);
    a4 = dpbusd(a4, c0, x1), a5 = dpbusd(a5, c1, x1), a6 = dpbusd(a6, c2, x1), a7 = dpbusd(a7, c3, x1);
    a8 = dpbusd(a8, c0, x2), a9 = dpbusd(a9, c1, x2), a10 = dpbusd(a10, c2, x2), a11 = dpbusd(a11, c3, x2);
    a12 = dpbusd(a12, c0, x3), a13 = dpbusd(a13, c1, x3), a14 = dpbusd(a14, c2, x3),
    a15 = dpbusd(a15, c3, x3);
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
