#pragma once
// Ctrl-C for the generating commands: while an InterruptGuard lives, SIGINT only sets a flag (without
// SA_RESTART, so a blocked read of stdin returns), and the generation loop stops at the next token, still
// printing what it has and its timing line.
#include <atomic>
#include <csignal>

namespace tern::cli {

inline std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}
inline bool interrupted() {
  return interrupt_flag().load();
}

class InterruptGuard {
 public:
  InterruptGuard() {
    interrupt_flag() = false;
    struct sigaction sa {};
    sa.sa_handler = [](int) { interrupt_flag() = true; };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~InterruptGuard() { sigaction(SIGINT, &old_, nullptr); }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_ {};
};

}  // namespace tern::cli
