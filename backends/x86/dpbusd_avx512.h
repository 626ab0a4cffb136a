#pragma once
// vpdpbusd for files compiled with AVX-512 flags: include after the intrinsics header (or SIMDe's). In an
// unnamed namespace for the reason simd_reduce.h gives.

namespace tern::x86 {
namespace {

// acc + the dot products of u's unsigned with s's signed byte quads (vpdpbusd). GCC 12 copies an
// intrinsic's accumulator to another register before the instruction and back after it, on every use in a
// loop: two moves per vpdpbusd, on its chain. scripts/mca_kernels.py (llvm-mca, icelake-server) puts the I2_S
// prefill tile at 23.5 cycles per block with them and 12.1 without (a model, not a measurement; see the
// script). The asm statement is the same instruction (same encoding) with the accumulator updated in place.
// SIMDe's portable build keeps the intrinsic.
inline __m512i dpbusd(__m512i acc, __m512i u, __m512i s) {
#if defined(TERN_X86_AVX512_SIMDE)
  return _mm512_dpbusd_epi32(acc, u, s);
#else
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "vm"(s));
  return acc;
#endif
}

}  // namespace
}  // namespace tern::x86
