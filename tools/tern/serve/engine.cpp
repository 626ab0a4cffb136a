#include "engine.h"

#include <chrono>

#include "tern/error.h"

namespace tern::serve {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<Event> Job::next(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !events_.empty(); }))
    return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void Job::push(Event e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
  }
  cv_.notify_one();
}

Engine::Engine(const Model& model, const Tokenizer& tokenizer, size_t n_slots, size_t n_ctx, size_t n_threads,
               KvCacheTypes cache)
    : model_(model), tokenizer_(tokenizer), n_ctx_(n_ctx), pool_(n_threads), slots_(n_slots) {
  for (auto& s : slots_) s.session = std::make_unique<Session>(model, n_ctx, pool_, cache);
  stats_.slots = n_slots;
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_ptr<Job> Engine::submit(Request r) {
  auto job = std::make_shared<Job>();
  job->request_ = std::move(r);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job);
    stats_.queued = queue_.size();
  }
  cv_.notify_all();
  return job;
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Engine::finish(Slot& slot, const std::string& reason, const std::string& error) {
  Event e;
  e.text = slot.partial_utf8 + (slot.stops ? slot.stops->flush() : "");
  slot.partial_utf8.clear();
  e.done = true;
  e.finish_reason = reason;
  e.error = error;
  e.prompt_tokens = int(slot.job->request_.prompt.size());
  e.completion_tokens = slot.generated;
  {
    // Counted before the client can see its answer, so /metrics read after a response includes it.
    std::lock_guard<std::mutex> lock(mu_);
    ++(slot.job->cancelled() ? stats_.cancelled : stats_.completed);
  }
  slot.job->push(std::move(e));
  slot.job.reset();
}

void Engine::admit(Slot& slot, std::shared_ptr<Job> job) {
  slot.job = std::move(job);
  const Request& r = slot.job->request_;
  slot.sampler = std::make_unique<Sampler>(r.sampler);
  slot.stops = std::make_unique<StopStrings>(r.stop);
  slot.generated = 0;
  slot.partial_utf8.clear();
  slot.session->reset();
  try {
    const auto& logits = slot.session->eval(r.prompt);
    slot.sampler->accept(r.prompt);
    slot.next = slot.sampler->sample(logits);
  } catch (const Error& e) {
    finish(slot, "error", e.what());
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.prompt_tokens += r.prompt.size();
}

bool Engine::advance(Slot& slot) {
  if (slot.job->cancelled()) {
    finish(slot, "cancelled");
    return false;
  }
  const int32_t tok = slot.next;
  slot.sampler->accept(tok);
  if (!slot.job->request_.ignore_eos && tokenizer_.is_end_of_generation(tok)) {
    finish(slot, "stop");
    return false;
  }
  ++slot.generated;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.generated_tokens;
  }
  Event e;
  std::string text = slot.partial_utf8 + slot.stops->feed(tokenizer_.token_to_piece(tok));
  const size_t complete = complete_utf8_prefix(text);  // JSON strings hold whole characters
  slot.partial_utf8 = text.substr(complete);
  e.text = text.substr(0, complete);
  if (!e.text.empty()) slot.job->push(std::move(e));
  if (slot.stops->stopped()) {
    finish(slot, "stop");
    return false;
  }
  if (slot.generated >= slot.job->request_.max_tokens || slot.session->position() >= n_ctx_) {
    finish(slot, "length");
    return false;
  }
  return true;
}

void Engine::loop() {
  while (true) {
    std::vector<std::shared_ptr<Job>> admitted;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto busy = [&] {
        size_t n = 0;
        for (const auto& s : slots_) n += s.job != nullptr;
        return n;
      };
      cv_.wait(lock, [&] { return stopping_ || busy() > 0 || !queue_.empty(); });
      if (stopping_) break;
      size_t free_slots = slots_.size() - busy();
      while (free_slots > 0 && !queue_.empty()) {
        admitted.push_back(queue_.front());
        queue_.pop_front();
        --free_slots;
      }
      stats_.queued = queue_.size();
    }
    for (auto& job : admitted) {
      for (auto& s : slots_)
        if (!s.job) {
          if (job->cancelled()) {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.cancelled;
          } else {
            admit(s, job);
          }
          break;
        }
    }
    // Emit each slot's sampled token; those still running decode it together.
    std::vector<Session*> sessions;
    std::vector<int32_t> tokens;
    std::vector<Slot*> running;
    for (auto& s : slots_)
      if (s.job && advance(s)) {
        sessions.push_back(s.session.get());
        tokens.push_back(s.next);
        running.push_back(&s);
      }
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t busy = 0;
      for (const auto& s : slots_) busy += s.job != nullptr;
      stats_.busy_slots = busy;
    }
    if (sessions.empty()) continue;
    try {
      Session::decode_batch(sessions, tokens);
    } catch (const Error& e) {
      for (Slot* s : running) finish(*s, "error", e.what());
      continue;
    }
    for (Slot* s : running) s->next = s->sampler->sample(s->session->logits());
    std::lock_guard<std::mutex> lock(mu_);
    const double t = now_seconds();
    rate_window_.emplace_back(t, stats_.generated_tokens);
    while (rate_window_.size() > 2 && t - rate_window_.front().first > 5.0) rate_window_.pop_front();
    const auto& [t0, n0] = rate_window_.front();
    stats_.generated_per_second = t > t0 ? double(stats_.generated_tokens - n0) / (t - t0) : 0.0;
  }
}

}  // namespace tern::serve
