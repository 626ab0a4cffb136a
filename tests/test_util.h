#pragma once
#include <string>

#include "tern/registry.h"

namespace tern::test {

inline std::string shared_dir() {
  return TERN_SHARED_DIR;
}
inline std::string tmp_dir() {
  return TERN_TEST_TMP;
}
inline std::string source_dir() {
  return TERN_SOURCE_DIR;
}

}  // namespace tern::test
