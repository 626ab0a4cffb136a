#pragma once
// Weights copied out of a model file's mapping into anonymous memory on transparent huge pages. Decode
// streams every weight once per token; from a file mapping (4 KB pages of the page cache) the hardware
// prefetchers stop at every page boundary and each page costs a TLB miss, from 2 MB pages they do not
// (`tern bench` with and without --mmap, docs/benchmarks.md).
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tern {

// This process's shared mappings of files, read from /proc/self/maps when made (map the sources first).
// Their pages can be dropped from the process without losing data: they stay in the page cache and come back
// from the file if read again. Anonymous or private pages would lose their contents.
class SharedFileMappings {
 public:
  SharedFileMappings();
  bool contain(const uint8_t* p, size_t n) const;
  // Drops the whole pages of [p, p + n) if the range lies in one of the mappings; leaves any other memory
  // alone. Returns whether it dropped them.
  bool drop_pages(const uint8_t* p, size_t n) const;

 private:
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges_;  // [start, end) of each
};

class WeightMemory {
 public:
  // Room for `bytes` of weights (each copy 64-byte aligned); throws tern::Error if the memory cannot be had.
  explicit WeightMemory(size_t bytes);
  ~WeightMemory();
  WeightMemory(const WeightMemory&) = delete;
  WeightMemory& operator=(const WeightMemory&) = delete;

  // Copies n bytes of src to the next free place and returns it. Source pages in a shared file mapping are
  // dropped from this process as they are copied (they stay in the page cache and come back from the file if
  // read again), so the resident memory never holds a model twice. Which mappings those are is read when the
  // WeightMemory is made: map the sources first.
  const uint8_t* copy(const uint8_t* src, size_t n);

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0, used_ = 0;
  SharedFileMappings sources_;  // once: the sources are mapped before the copies
};

}  // namespace tern
