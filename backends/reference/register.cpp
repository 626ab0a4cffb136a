#include "reference_backend.h"
#include "tern/plugin/export.h"

namespace {
const tern::BackendInfo kInfo{"reference", "portable scalar C++ (the oracle)", 0, ""};
}

TERN_BACKEND_PLUGIN(kInfo, new tern::ReferenceBackend())
