#pragma once
#include <stdexcept>
#include <string>

namespace tern {

// Every user-facing failure (bad file, missing plugin, bad flag) is a tern::Error whose message is one line
// that names the thing at fault; the CLI prints it and exits 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace tern
