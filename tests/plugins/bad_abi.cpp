// A backend built against a future ABI: the registry must skip it with a message, never call into it.
#include "tern/plugin/export.h"

namespace {
const tern::BackendInfo kInfo{"bad-abi", "test plugin with a wrong ABI version", 1000, ""};
}

TERN_PLUGIN_EXPORT uint32_t tern_plugin_abi_version() {
  return 999;
}
TERN_PLUGIN_EXPORT const char* tern_plugin_kind() {
  return "backend";
}
TERN_PLUGIN_EXPORT const tern::BackendInfo* tern_backend_info() {
  return &kInfo;
}
TERN_PLUGIN_EXPORT tern::Backend* tern_backend_create() {
  __builtin_trap();
}
