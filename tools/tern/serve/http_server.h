#pragma once
// The HTTP side of `tern serve` (Boost.Beast over Asio, which Boost already brings: no new dependency).
// One thread per connection, at most max_connections of them (beyond that a 503 and a closed connection, so
// load cannot become a thread storm); keep-alive with an idle timeout; bodies above max_body_bytes get 413.
#include <atomic>
#include <cstdint>
#include <string>

#include "engine.h"
#include "openai_api.h"

namespace tern::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string api_key;  // empty: no authentication
  size_t max_body_bytes = size_t(1) << 20;
  size_t max_connections = 64;
  int idle_timeout_s = 30;
};

struct ServerCounters {
  std::atomic<uint64_t> requests{0}, errors{0}, connections{0};
};

// Serves until SIGINT / SIGTERM; returns the exit code. Prints "listening on http://HOST:PORT" once ready.
int run_http_server(const ServerOptions& opts, Engine& engine, const ApiContext& api);

}  // namespace tern::serve
