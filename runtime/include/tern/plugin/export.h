#pragma once
// Macros a plugin uses to export its entry points (one registration file per plugin).
#include "tern/plugin/backend_api.h"
#include "tern/plugin/format_api.h"

#define TERN_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

#define TERN_BACKEND_PLUGIN(INFO, CREATE_EXPR)                      \
  TERN_PLUGIN_EXPORT uint32_t tern_plugin_abi_version() {           \
    return tern::kBackendAbiVersion;                                \
  }                                                                 \
  TERN_PLUGIN_EXPORT const char* tern_plugin_kind() {               \
    return "backend";                                               \
  }                                                                 \
  TERN_PLUGIN_EXPORT const tern::BackendInfo* tern_backend_info() { \
    return &(INFO);                                                 \
  }                                                                 \
  TERN_PLUGIN_EXPORT tern::Backend* tern_backend_create() {         \
    return CREATE_EXPR;                                             \
  }

#define TERN_FORMAT_PLUGIN(CREATE_EXPR)                         \
  TERN_PLUGIN_EXPORT uint32_t tern_plugin_abi_version() {       \
    return tern::kFormatAbiVersion;                             \
  }                                                             \
  TERN_PLUGIN_EXPORT const char* tern_plugin_kind() {           \
    return "format";                                            \
  }                                                             \
  TERN_PLUGIN_EXPORT tern::FormatPlugin* tern_format_create() { \
    return CREATE_EXPR;                                         \
  }
