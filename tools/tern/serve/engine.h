#pragma once
// The generation engine behind `tern serve`: one model, N slots (each a Session: its own KV cache), a queue
// of requests, and one scheduler thread. Each step admits queued requests into free slots (their prompt is
// evaluated at once) and then decodes one token for every busy slot in a single batched forward pass
// (Session::decode_batch), so concurrent requests share each read of the weights: continuous batching.
// Requests wait in the queue for a slot, never dropped; a cancelled one frees its slot at the next step.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tern/model.h"
#include "tern/sampler.h"
#include "tern/tokenizer.h"

namespace tern::serve {

struct Request {
  std::vector<int32_t> prompt;  // already tokenized and checked against the context
  SamplerParams sampler;
  int max_tokens = 0;
  std::vector<std::string> stop;
  bool ignore_eos = false;  // generate max_tokens whatever comes (benchmarks; llama-server's field)
};

// What a request produces, in order: text pieces, then one final event.
struct Event {
  std::string text;
  bool done = false;
  std::string finish_reason;  // "stop" or "length" (done only)
  std::string error;          // set if generation failed (done only)
  int prompt_tokens = 0, completion_tokens = 0;
};

// A submitted request: the HTTP side reads its events; cancel() (client gone) frees its slot.
class Job {
 public:
  // Waits up to `timeout_ms` for the next event; nullopt on timeout.
  std::optional<Event> next(int timeout_ms);
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  friend class Engine;
  void push(Event e);
  Request request_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  std::atomic<bool> cancelled_{false};
};

struct EngineStats {
  uint64_t prompt_tokens = 0, generated_tokens = 0, completed = 0, cancelled = 0;
  size_t queued = 0, busy_slots = 0, slots = 0;
  double generated_per_second = 0;  // over the last few seconds of decoding
};

class Engine {
 public:
  Engine(const Model& model, const Tokenizer& tokenizer, size_t n_slots, size_t n_ctx, size_t n_threads,
         KvCacheTypes cache = {});
  ~Engine();
  std::shared_ptr<Job> submit(Request r);
  EngineStats stats() const;
  size_t n_ctx() const { return n_ctx_; }

 private:
  struct Slot {
    std::unique_ptr<Session> session;
    std::shared_ptr<Job> job;
    std::unique_ptr<Sampler> sampler;
    std::unique_ptr<StopStrings> stops;
    int32_t next = -1;  // sampled, not yet evaluated
    int generated = 0;
    std::string partial_utf8;  // the start of a character whose other bytes come with the next token
  };
  void loop();
  void admit(Slot& slot, std::shared_ptr<Job> job);
  // Emits slot.next; returns false (and finishes the job) when the request is complete.
  bool advance(Slot& slot);
  void finish(Slot& slot, const std::string& reason, const std::string& error = "");

  const Model& model_;
  const Tokenizer& tokenizer_;
  size_t n_ctx_;
  ThreadPool pool_;
  std::vector<Slot> slots_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  EngineStats stats_;
  std::deque<std::pair<double, uint64_t>> rate_window_;  // (time, generated total) samples
  std::thread thread_;
};

}  // namespace tern::serve
