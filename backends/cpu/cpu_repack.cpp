#include "cpu_repack.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <new>

#include "tern/dtype.h"

namespace tern::cpu {
namespace {

// The code (weight + 1) of trit n of a TQ1_0 byte: the top base-3 digit of byte * 3^n (mod 256), as the
// reference decodes it. Bytes above 242 never come from a quantizer but decode the same way here as there.
constexpr uint8_t tq1_code(int v, int n) {
  int pow3 = 1;
  for (int i = 0; i < n; ++i) pow3 *= 3;
  return uint8_t((((v * pow3) & 0xff) * 3) >> 8);
}

// For every byte value, some of its trits' codes already shifted to their place in a TQ2_0 byte: trit[s] is
// the trit whose code goes to 2-bit slot s (bits 2s, 2s + 1), -1 for a slot left empty.
struct TritPlacement {
  int trit[4];
};
constexpr std::array<uint8_t, 256> placed_codes(TritPlacement p) {
  std::array<uint8_t, 256> t{};
  for (int v = 0; v < 256; ++v)
    for (int slot = 0; slot < 4; ++slot)
      if (p.trit[slot] >= 0) t[v] = uint8_t(t[v] | tq1_code(v, p.trit[slot]) << (2 * slot));
  return t;
}

// Prepared weights are carved out of 64 MB chunks of anonymous memory on huge pages: one mapping each would
// round every small matrix (a GQA key projection) up to whole 2 MB pages.
struct Chunk {
  uint8_t* base = nullptr;
  size_t size = 0, used = 0;
  ~Chunk() {
    if (base) munmap(base, size);
  }
};

// What WeightView::prepared points at: the copy's dtype and bytes, and the chunk that holds them (unmapped
// when its last weight goes).
struct PreparedWeight {
  DType type;
  uint8_t* data;
  size_t nbytes;
  std::shared_ptr<Chunk> chunk;
};

std::shared_ptr<PreparedWeight> allocate_prepared(DType type, size_t nbytes) {
  constexpr size_t kHugePage = size_t(2) << 20, kChunkBytes = size_t(64) << 20;
  static std::mutex mutex;
  static std::weak_ptr<Chunk> current;  // weak: a chunk no weight uses any more is unmapped at once
  std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<Chunk> c = current.lock();
  if (!c || c->size - c->used < nbytes) {
    c = std::make_shared<Chunk>();
    c->size = std::max(kChunkBytes, (nbytes + kHugePage - 1) / kHugePage * kHugePage);
    void* p = mmap(nullptr, c->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    c->base = static_cast<uint8_t*>(p);
    madvise(p, c->size, MADV_HUGEPAGE);  // a hint: 4 KB pages without transparent huge pages
    current = c;
  }
  auto w = std::make_shared<PreparedWeight>(PreparedWeight{type, c->base + c->used, nbytes, c});
  c->used = std::min(c->size, (c->used + nbytes + 63) / 64 * 64);
  return w;
}

}  // namespace

void repack_tq1_block_as_tq2(const uint8_t* tq1, uint8_t* tq2) {
  // TQ1_0: trit n of byte m (m < 32) is element 32n + m, of byte 32 + m (m < 16) element 160 + 16n + m, of
  // byte 48 + j (j < 4, four trits) element 240 + 4n + j. TQ2_0: element 128h + 32s + m is 2-bit slot s of
  // byte 32h + m. So byte m of the first half holds trits 0-3 of byte m; byte m of the second half holds
  // elements 128 + m (trit 4 of byte m), 160 + m, 192 + m and 224 + m, which for m < 16 are trits 0, 2, 4 of
  // byte 32 + m, and for m >= 16 trits 1 and 3 of byte 16 + m and trit (m - 16) / 4 of byte 48 + m % 4.
  static constexpr auto kTrits0123 = placed_codes({{0, 1, 2, 3}});
  static constexpr auto kTrit4 = placed_codes({{4, -1, -1, -1}});
  static constexpr auto kTrits024 = placed_codes({{-1, 0, 2, 4}});
  static constexpr auto kTrits13 = placed_codes({{-1, 1, 3, -1}});
  static constexpr std::array<std::array<uint8_t, 256>, 4> kTail = {
      placed_codes({{-1, -1, -1, 0}}), placed_codes({{-1, -1, -1, 1}}), placed_codes({{-1, -1, -1, 2}}),
      placed_codes({{-1, -1, -1, 3}})};
  for (int m = 0; m < 32; ++m) tq2[m] = kTrits0123[tq1[m]];
  for (int m = 0; m < 16; ++m) tq2[32 + m] = uint8_t(kTrit4[tq1[m]] | kTrits024[tq1[32 + m]]);
  for (int m = 16; m < 32; ++m)
    tq2[32 + m] = uint8_t(kTrit4[tq1[m]] | kTrits13[tq1[16 + m]] | kTail[(m - 16) / 4][tq1[48 + m % 4]]);
  std::memcpy(tq2 + 64, tq1 + 52, 2);  // the f16 scale, bit for bit
}

std::shared_ptr<const void> repack_tq1_as_tq2(const uint8_t* data, size_t k, size_t n) {
  const size_t blocks = k / 256 * n;
  auto w = allocate_prepared(DType::TQ2_0, dtype_tensor_bytes(DType::TQ2_0, k, n));
  for (size_t b = 0; b < blocks; ++b) repack_tq1_block_as_tq2(data + b * 54, w->data + b * 66);
  return w;
}

WeightView runnable_view(const WeightView& w) {
  if (!w.prepared) return w;
  const auto& p = *static_cast<const PreparedWeight*>(w.prepared.get());
  WeightView v = w;
  v.type = p.type;
  v.data = p.data;
  v.nbytes = p.nbytes;
  return v;
}

}  // namespace tern::cpu
