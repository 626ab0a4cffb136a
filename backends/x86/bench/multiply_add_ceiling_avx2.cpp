// Compiled with the AVX2 kernels' flags (CMakeLists.txt).
#include <immintrin.h>

#include "multiply_add_ceiling.h"

namespace tern::x86 {

int32_t multiply_add_ceiling_avx2(size_t n_steps) {
  const __m256i c0 = _mm256_set1_epi8(1), c1 = _mm256_set1_epi8(2);
  const __m256i x0 = _mm256_set1_epi8(5), x1 = _mm256_set1_epi8(-5), x2 = _mm256_set1_epi8(7),
                x3 = _mm256_set1_epi8(-11);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (size_t i = 0; i < n_steps; ++i) {
    // Written out, because with 8 accumulators, 6 operands and the products AVX2's 16 registers are full and
    // GCC's allocator then keeps some accumulators on the stack, which would be measured instead.
    asm("vpmaddubsw %[x0], %[c0], %%ymm14\n\t"
        "vpmaddubsw %[x0], %[c1], %%ymm15\n\t"
        "vpaddw %%ymm14, %[a0], %[a0]\n\t"
        "vpaddw %%ymm15, %[a1], %[a1]\n\t"
        "vpmaddubsw %[x1], %[c0], %%ymm14\n\t"
        "vpmaddubsw %[x1], %[c1], %%ymm15\n\t"
        "vpaddw %%ymm14, %[a2], %[a2]\n\t"
        "vpaddw %%ymm15, %[a3], %[a3]\n\t"
        "vpmaddubsw %[x2], %[c0], %%ymm14\n\t"
        "vpmaddubsw %[x2], %[c1], %%ymm15\n\t"
        "vpaddw %%ymm14, %[a4], %[a4]\n\t"
        "vpaddw %%ymm15, %[a5], %[a5]\n\t"
        "vpmaddubsw %[x3], %[c0], %%ymm14\n\t"
        "vpmaddubsw %[x3], %[c1], %%ymm15\n\t"
        "vpaddw %%ymm14, %[a6], %[a6]\n\t"
        "vpaddw %%ymm15, %[a7], %[a7]"
        : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3), [a4] "+x"(a4), [a5] "+x"(a5),
          [a6] "+x"(a6), [a7] "+x"(a7)
        : [c0] "x"(c0), [c1] "x"(c1), [x0] "x"(x0), [x1] "x"(x1), [x2] "x"(x2), [x3] "x"(x3)
        : "xmm14", "xmm15");
  }
  const __m256i sum = _mm256_add_epi16(_mm256_add_epi16(_mm256_add_epi16(a0, a1), _mm256_add_epi16(a2, a3)),
                                       _mm256_add_epi16(_mm256_add_epi16(a4, a5), _mm256_add_epi16(a6, a7)));
  alignas(32) int16_t lanes[16];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  int32_t total = 0;
  for (int16_t v : lanes) total += v;
  return total;
}

}  // namespace tern::x86
