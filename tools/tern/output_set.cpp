#include "output_set.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "tern/error.h"

namespace fs = std::filesystem;

namespace tern::cli {
namespace {

sigset_t watched_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGUSR1);  // sent by the destructor to end the watcher
  return s;
}

}  // namespace

OutputSet::OutputSet(const fs::path& out_dir) : out_dir_(out_dir) {
  std::error_code ec;
  if (fs::exists(out_dir_, ec) && !fs::is_directory(out_dir_, ec))
    throw Error(out_dir_.string() + ": exists and is not a directory (give an output directory)");
  fs::create_directories(out_dir_, ec);
  if (ec) throw Error(out_dir_.string() + ": cannot create the output directory: " + ec.message());
  std::random_device rd;
  staging_ = out_dir_ / (".tern-partial-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000));
  // Signals first: from the moment the staging directory exists, an interrupt must find someone to remove it.
  watch_signals();
  if (!fs::create_directory(staging_, ec) || ec) {
    stop_watching();
    throw Error(staging_.string() + ": cannot create: " + (ec ? ec.message() : "it already exists"));
  }
}

void OutputSet::watch_signals() {
  // Signals are taken by one thread with sigwait, so the cleanup runs in normal context (not in a handler)
  // and after any commit() in progress. Threads started later inherit the blocked mask.
  const sigset_t s = watched_signals();
  pthread_sigmask(SIG_BLOCK, &s, &old_mask_);
  watcher_ = std::thread([this, s] {
    int sig = 0;
    if (sigwait(&s, &sig) != 0 || sig == SIGUSR1) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!committed_) {
      remove_staging();
      std::fprintf(stderr, "\ntern: interrupted; no output written to %s\n", out_dir_.c_str());
    }
    _exit(128 + sig);
  });
}

OutputSet::~OutputSet() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!committed_) remove_staging();
  }
  stop_watching();
}

void OutputSet::stop_watching() {
  pthread_kill(watcher_.native_handle(), SIGUSR1);
  watcher_.join();
  // A SIGINT that arrived after commit is still pending: unblocking delivers it with its default action.
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

fs::path OutputSet::staged(const std::string& name) {
  names_.push_back(name);
  return staging_ / name;
}

std::vector<std::pair<std::string, fs::path>> OutputSet::staged_files() const {
  std::vector<std::pair<std::string, fs::path>> out;
  for (const auto& name : names_) {
    const fs::path p = staging_ / name;
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file())
          out.emplace_back((fs::path(name) / fs::relative(e.path(), p)).string(), e.path());
    } else if (fs::is_regular_file(p)) {
      out.emplace_back(name, p);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void OutputSet::commit() {
  std::lock_guard<std::mutex> lock(mu_);
  // A staged directory (a Hugging Face checkpoint) cannot be renamed onto an existing one: the old one moves
  // into the staging directory first, and back if anything fails.
  std::vector<std::string> moved_aside;
  auto aside = [&](const std::string& name) { return staging_ / (".old-" + name); };
  for (size_t i = names_.size(); i-- > 0;) {
    std::error_code ec;
    const fs::path target = out_dir_ / names_[i];
    if (fs::is_directory(staging_ / names_[i], ec) && fs::exists(target, ec)) {
      fs::rename(target, aside(names_[i]), ec);
      if (!ec) moved_aside.push_back(names_[i]);
    }
    if (!ec) fs::rename(staging_ / names_[i], target, ec);
    if (ec) {
      const std::string why = ec.message();
      for (size_t j = i + 1; j < names_.size(); ++j) fs::remove_all(out_dir_ / names_[j], ec);  // none or all
      for (const auto& name : moved_aside) fs::rename(aside(name), out_dir_ / name, ec);
      throw Error(target.string() + ": cannot move into place: " + why);
    }
  }
  committed_ = true;
  remove_staging();
}

void OutputSet::remove_staging() {
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

}  // namespace tern::cli
