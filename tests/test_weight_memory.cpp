// WeightMemory (run / serve / bench's default weight placement): copies are the source's bytes; copying from
// a shared file mapping does not leave the file resident twice; any other source is left as it was.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tern/error.h"
#include "tern/mapped_file.h"
#include "tern/weight_memory.h"
#include "test_util.h"

using namespace tern;

namespace {

// This process's resident file-backed memory (RssFile), in KiB.
long rss_file_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("RssFile:", 0) == 0) return std::stol(line.substr(8));
  return -1;
}

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 2654435761u >> 13);
  return v;
}

TEST(WeightMemory, CopiesOfAFileMappingAreItsBytesAndDoNotKeepItResident) {
  const size_t n = size_t(160) << 20;  // past the 64 MiB chunks: three of them, the last partial
  const std::string path = test::tmp_dir() + "/weight_memory.bin";
  const std::vector<uint8_t> bytes = pattern(n);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(n));
  }
  auto map = MappedFile::open(path);
  const long before = rss_file_kib();
  WeightMemory memory(n + 64);
  const uint8_t* a = memory.copy(map->data() + 3, 1000);  // an unaligned start, within the first page
  const uint8_t* b = memory.copy(map->data(), n);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  EXPECT_EQ(std::memcmp(a, bytes.data() + 3, 1000), 0);
  EXPECT_EQ(std::memcmp(b, bytes.data(), n), 0);
#if defined(__x86_64__)
  // Natively only: under qemu-user (the cross builds' tests) /proc/self/status is the emulator's, and its
  // madvise need not reach the host. The copy read all of the file through the mapping; all of it but a
  // chunk's edge pages left this process again.
  ASSERT_GE(before, 0) << "no RssFile in /proc/self/status";
  EXPECT_LT(rss_file_kib() - before, long(8 << 10)) << "KiB of the file still resident after the copy";
#else
  (void)before;
#endif
  // and the mapping still reads the file.
  EXPECT_EQ(std::memcmp(map->data(), bytes.data(), n), 0);
  std::remove(path.c_str());
}

TEST(WeightMemory, LeavesOtherSourcesIntact) {
  const std::vector<uint8_t> want = pattern(size_t(3) << 20);
  std::vector<uint8_t> heap = want;  // heap (private anonymous) memory: dropping its pages would zero them
  WeightMemory memory(heap.size());
  const uint8_t* copy = memory.copy(heap.data(), heap.size());
  EXPECT_EQ(std::memcmp(copy, want.data(), want.size()), 0);
  EXPECT_EQ(heap, want);
}

TEST(WeightMemory, RefusesToOverflow) {
  WeightMemory memory(100);  // rounded up to a huge page, which is all it holds
  std::vector<uint8_t> big((size_t(2) << 20) + 1);
  EXPECT_THROW(memory.copy(big.data(), big.size()), Error);
}

}  // namespace
