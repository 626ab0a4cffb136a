#pragma once
// Weights rewritten once at load (Backend::prepare) into a layout the kernel table runs faster. ISA-free:
// the rewritten tensor is another dtype of the table, so the same kernels, conformance and epilogue apply.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tern/plugin/backend_api.h"

namespace tern::cpu {

// TQ1_0 (five base-3 trits per byte, 54 bytes per 256 weights) as TQ2_0 (2-bit codes, 66 bytes): the same
// weights and the same f16 block scales, so every integer dot and every output is unchanged. Decoding base 3
// costs more than the multiply-adds on every ISA tern has; the 2-bit form reads 22% more bytes and decodes
// with a shift and a mask.
void repack_tq1_block_as_tq2(const uint8_t* tq1, uint8_t* tq2);

// n rows of k weights, rows consecutive, into memory the caller owns afterwards (huge pages where the kernel
// has them: generation streams these bytes).
std::shared_ptr<const void> repack_tq1_as_tq2(const uint8_t* data, size_t k, size_t n);

// The view the kernels run for w: w itself, or its prepared copy under the copy's dtype.
WeightView runnable_view(const WeightView& w);

}  // namespace tern::cpu
