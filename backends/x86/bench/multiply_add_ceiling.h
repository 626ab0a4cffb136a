#pragma once
// The int8 multiply-add rate that no multiply-add tile (the I2_S, TQ2_0 and TQ1_0 prefill GEMMs) can exceed
// on this CPU: the tiles' inner step, multiply-adds into accumulators, on operands that never leave
// registers, so no load, decode or reduction slows it. bench_x86_kernels reports it beside BM_I2SGemmCodes*,
// and scripts/bench_report.sh turns it into the largest prefill rate, and so the largest prefill / generation
// ratio, this machine allows.
#include <cstddef>
#include <cstdint>

namespace tern::x86 {

// n_steps of 8 vpmaddubsw (32 multiply-adds each) and 8 vpaddw into int16 accumulators, as I2sTile in
// x86_kernels_avx2.cpp. Returns a sum of the accumulators, so that none of the work is dead.
int32_t multiply_add_ceiling_avx2(size_t n_steps);
// n_steps of 16 vpdpbusd on zmm (64 multiply-adds each, accumulating in int32): 16 independent accumulators,
// because vpdpbusd's latency times its throughput is about 10 (the AVX2 step's adds take one cycle). Only on
// CPUs with AVX-512 F/BW/VL + VNNI.
int32_t multiply_add_ceiling_avx512vnni(size_t n_steps);
// n_steps of 4 tdpbsud (16 x 16 x 64 multiply-adds each) into four tile accumulators, the AMX kernels' block.
// Only on CPUs with AMX-INT8 whose tile state Linux has granted.
int32_t multiply_add_ceiling_amx(size_t n_steps);

}  // namespace tern::x86
