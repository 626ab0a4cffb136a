#pragma once

namespace tern {
const char* version();  // the project version, e.g. "0.1.0"
const char*
git_commit();  // short commit of the source tree at build time, "-dirty" if modified, or "unknown"
}  // namespace tern
