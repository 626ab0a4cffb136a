// A backend needing a CPU feature no CPU reports: it must be listed as skipped and never created.
#include "tern/plugin/export.h"

namespace {
const tern::BackendInfo kInfo{"future-isa", "test plugin needing a missing CPU feature", 1000,
                              "avx2 quantum-ops"};
}

TERN_BACKEND_PLUGIN(kInfo, (__builtin_trap(), nullptr))
