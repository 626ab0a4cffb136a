#include "tern/weight_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tern/error.h"

namespace tern {
namespace {

constexpr size_t kHugePage = size_t(2) << 20;
// Copied, then dropped from the source mapping, this much at a time: the transient extra residency.
constexpr size_t kChunk = size_t(64) << 20;

// madvise takes whole pages: those inside [p, p + n).
void drop_whole_pages(const uint8_t* p, size_t n) {
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page,
                  b = reinterpret_cast<uintptr_t>(p + n) / page * page;
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
}

}  // namespace

// Shared mappings are 's' in /proc/self/maps' permissions, files have an inode.
SharedFileMappings::SharedFileMappings() {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (!maps) return;
  char line[512];
  while (std::fgets(line, sizeof line, maps)) {
    unsigned long start, end, inode;
    char perms[8];
    if (std::sscanf(line, "%lx-%lx %7s %*s %*s %lu", &start, &end, perms, &inode) == 4 && perms[3] == 's' &&
        inode != 0)
      ranges_.emplace_back(start, end);
  }
  std::fclose(maps);
}

bool SharedFileMappings::contain(const uint8_t* p, size_t n) const {
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + n;
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const auto& r) { return lo >= r.first && hi <= r.second; });
}

bool SharedFileMappings::drop_pages(const uint8_t* p, size_t n) const {
  if (!contain(p, n)) return false;
  drop_whole_pages(p, n);
  return true;
}

WeightMemory::WeightMemory(size_t bytes) {
  size_ = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  if (size_ == 0) return;
  void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw Error("cannot allocate " + std::to_string(size_ >> 20) + " MiB for the weights: " +
                std::strerror(errno) + " (--mmap keeps them in the file's mapping)");
  base_ = static_cast<uint8_t*>(p);
  madvise(base_, size_, MADV_HUGEPAGE);  // a hint: without transparent huge pages, 4 KB pages as before
}

WeightMemory::~WeightMemory() {
  if (base_) munmap(base_, size_);
}

const uint8_t* WeightMemory::copy(const uint8_t* src, size_t n) {
  used_ = (used_ + 63) / 64 * 64;
  if (n > size_ - std::min(used_, size_)) throw Error("weight memory overflow (an internal error)");
  uint8_t* dst = base_ + used_;
  used_ += n;
  const bool drop = sources_.contain(src, n);
  for (size_t off = 0; off < n; off += kChunk) {
    const size_t len = std::min(kChunk, n - off);
    std::memcpy(dst + off, src + off, len);
    if (drop) drop_whole_pages(src + off, len);
  }
  return dst;
}

}  // namespace tern
