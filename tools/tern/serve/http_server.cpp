#include "http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "tern/error.h"

namespace tern::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

std::atomic<bool> g_stop{false};

struct Shared {
  Shared(const ServerOptions& o, Engine& e, const ApiContext& a) : opts(o), engine(e), api(a) {}
  const ServerOptions& opts;
  Engine& engine;
  const ApiContext& api;
  ServerCounters counters;
  std::atomic<size_t> active{0};
  std::atomic<uint64_t> next_id{1};
  std::mutex fds_mu;
  std::set<int> fds;  // open connections, shut down for reading on stop so blocked reads return
};

void write_response(tcp::socket& sock, const http::request<http::string_body>* req, int status,
                    const std::string& content_type, std::string body, beast::error_code& ec,
                    bool keep_alive = true) {
  http::response<http::string_body> res{http::status(status), req ? req->version() : 11};
  res.set(http::field::server, "tern");
  res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive && req && req->keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  http::write(sock, res, ec);
}

void write_error(tcp::socket& sock, const http::request<http::string_body>* req, const ApiError& e,
                 beast::error_code& ec, Shared& sh, bool keep_alive = true) {
  ++sh.counters.errors;
  write_response(sock, req, e.status, "application/json", error_body(e), ec, keep_alive);
}

// The peer closed its end (a client that went away): its request is cancelled at once.
bool peer_gone(tcp::socket& sock) {
  pollfd p{sock.native_handle(), POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char c;
  return p.revents & POLLIN && ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

std::string metrics_text(Shared& sh) {
  const EngineStats s = sh.engine.stats();
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    char line[256];
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
                  value);
    out += line;
  };
  metric("tern_http_requests_total", "counter", "HTTP requests handled", double(sh.counters.requests.load()));
  metric("tern_http_errors_total", "counter", "HTTP requests answered with an error status",
         double(sh.counters.errors.load()));
  metric("tern_completions_total", "counter", "generation requests completed", double(s.completed));
  metric("tern_completions_cancelled_total", "counter", "generation requests whose client went away",
         double(s.cancelled));
  metric("tern_prompt_tokens_total", "counter", "prompt tokens evaluated", double(s.prompt_tokens));
  metric("tern_generated_tokens_total", "counter", "tokens generated", double(s.generated_tokens));
  metric("tern_queue_depth", "gauge", "requests waiting for a slot", double(s.queued));
  metric("tern_slots_busy", "gauge", "slots generating", double(s.busy_slots));
  metric("tern_slots_total", "gauge", "slots (--parallel)", double(s.slots));
  metric("tern_generated_tokens_per_second", "gauge", "generation rate over the last seconds",
         s.generated_per_second);
  metric("tern_http_connections", "gauge", "open HTTP connections", double(sh.active.load()));
  return out;
}

// A generation request: streamed as server-sent events, or answered once complete.
void handle_completion(tcp::socket& sock, const http::request<http::string_body>& req, bool chat, Shared& sh,
                       beast::error_code& ec) {
  ParsedRequest p;
  try {
    p = parse_request(sh.api, req.body(), chat);
  } catch (const ApiError& e) {
    return write_error(sock, &req, e, ec, sh);
  }
  const std::string id = std::string(chat ? "chatcmpl-" : "cmpl-") + std::to_string(sh.next_id++);
  auto job = sh.engine.submit(p.request);
  auto wait_event = [&]() -> std::optional<Event> {
    while (true) {
      if (auto e = job->next(100)) return e;
      if (g_stop || peer_gone(sock)) {
        job->cancel();
        return std::nullopt;
      }
    }
  };
  if (!p.stream) {
    std::string text;
    while (true) {
      auto e = wait_event();
      if (!e) return;
      text += e->text;
      if (!e->done) continue;
      if (!e->error.empty()) return write_error(sock, &req, ApiError{500, e->error, ""}, ec, sh);
      return write_response(sock, &req, 200, "application/json",
                            dump_json(completion_response(p, id, sh.api, text, *e)), ec);
    }
  }
  http::response<http::empty_body> head{http::status::ok, req.version()};
  head.set(http::field::server, "tern");
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.keep_alive(req.keep_alive());
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  http::write_header(sock, sr, ec);
  auto send = [&](const std::string& data) {
    if (ec) return;
    const std::string event = "data: " + data + "\n\n";
    asio::write(sock, http::make_chunk(asio::buffer(event)), ec);
  };
  bool first = true;
  while (!ec) {
    auto e = wait_event();
    if (!e) return;
    if (!e->text.empty()) {
      send(dump_json(stream_chunk(p, id, sh.api, e->text, std::nullopt, first)));
      first = false;
    }
    if (!e->done) continue;
    if (!e->error.empty()) {
      send(dump_json(json{{"error", {{"message", e->error}, {"type", "server_error"}}}}));
    } else {
      send(dump_json(stream_chunk(p, id, sh.api, "", e->finish_reason, first)));
      if (p.include_usage) send(dump_json(usage_chunk(p, id, sh.api, *e)));
    }
    send("[DONE]");
    if (!ec) asio::write(sock, http::make_chunk_last(), ec);
    return;
  }
  job->cancel();  // the client stopped reading
}

void route(tcp::socket& sock, const http::request<http::string_body>& req, Shared& sh,
           beast::error_code& ec) {
  const std::string target(req.target().substr(0, req.target().find('?')));
  const bool get = req.method() == http::verb::get, post = req.method() == http::verb::post;
  if (target == "/health") {
    if (!get) return write_error(sock, &req, ApiError{405, "use GET", ""}, ec, sh);
    const EngineStats s = sh.engine.stats();
    return write_response(sock, &req, 200, "application/json",
                          dump_json(json{{"status", "ok"},
                                         {"slots_idle", s.slots - s.busy_slots},
                                         {"slots_total", s.slots},
                                         {"queue_depth", s.queued}}),
                          ec);
  }
  if (target == "/metrics") {
    if (!get) return write_error(sock, &req, ApiError{405, "use GET", ""}, ec, sh);
    return write_response(sock, &req, 200, "text/plain; version=0.0.4", metrics_text(sh), ec);
  }
  const bool chat = target == "/v1/chat/completions", completions = target == "/v1/completions";
  if (target != "/v1/models" && !chat && !completions)
    return write_error(sock, &req, ApiError{404, "no route " + target, ""}, ec, sh);
  if (!sh.opts.api_key.empty() && req[http::field::authorization] != "Bearer " + sh.opts.api_key)
    return write_error(sock, &req, ApiError{401, "missing or wrong API key (Authorization: Bearer KEY)", ""},
                       ec, sh);
  if (target == "/v1/models") {
    if (!get) return write_error(sock, &req, ApiError{405, "use GET", ""}, ec, sh);
    return write_response(sock, &req, 200, "application/json", dump_json(models_response(sh.api)), ec);
  }
  if (!post) return write_error(sock, &req, ApiError{405, "use POST", ""}, ec, sh);
  handle_completion(sock, req, chat, sh, ec);
}

void serve_connection(tcp::socket sock, Shared& sh) {
  {
    std::lock_guard<std::mutex> lock(sh.fds_mu);
    sh.fds.insert(sock.native_handle());
  }
  const timeval idle{sh.opts.idle_timeout_s, 0}, send_limit{60, 0};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit);
  beast::flat_buffer buffer;
  while (!g_stop) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(sh.opts.max_body_bytes);
    parser.header_limit(16 * 1024);
    beast::error_code ec;
    http::read(sock, buffer, parser, ec);
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof)
      break;
    if (ec == http::error::body_limit) {
      write_error(sock, nullptr,
                  ApiError{413, "the body exceeds " + std::to_string(sh.opts.max_body_bytes) + " bytes", ""},
                  ec, sh, false);
      break;
    }
    if (ec) {
      if (ec != asio::error::would_block && ec != asio::error::try_again && ec != asio::error::timed_out)
        write_error(sock, nullptr, ApiError{400, "malformed HTTP request: " + ec.message(), ""}, ec, sh,
                    false);
      break;
    }
    ++sh.counters.requests;
    const auto& req = parser.get();
    try {
      route(sock, req, sh, ec);
    } catch (const std::exception& e) {  // a bug must cost this request, not the server
      std::fprintf(stderr, "tern serve: internal error: %s\n", e.what());
      write_error(sock, &req, ApiError{500, std::string("internal error: ") + e.what(), ""}, ec, sh, false);
      break;
    }
    if (ec || !req.keep_alive()) break;
  }
  {
    std::lock_guard<std::mutex> lock(sh.fds_mu);
    sh.fds.erase(sock.native_handle());
  }
  beast::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

int run_http_server(const ServerOptions& opts, Engine& engine, const ApiContext& api) {
  asio::io_context ioc;
  beast::error_code ec;
  const auto address = asio::ip::make_address(opts.host, ec);
  if (ec) throw Error("--host '" + opts.host + "' is not an IP address");
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint endpoint(address, opts.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw Error("cannot listen on " + opts.host + ":" + std::to_string(opts.port) + ": " + ec.message());

  g_stop = false;
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = [](int) { g_stop = true; };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error code, not a dead server

  Shared sh(opts, engine, api);
  std::printf("listening on http://%s:%u\n", opts.host.c_str(), unsigned(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  while (!g_stop) {
    pollfd p{acceptor.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    tcp::socket sock(ioc);
    acceptor.accept(sock, ec);
    if (ec) continue;
    if (sh.active >= opts.max_connections) {
      const timeval limit{1, 0};
      ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
      write_error(sock, nullptr, ApiError{503, "too many connections; retry later", ""}, ec, sh, false);
      continue;
    }
    ++sh.active;
    std::thread([s = std::move(sock), &sh]() mutable {
      serve_connection(std::move(s), sh);
      --sh.active;
    }).detach();
  }
  // Connections waiting for tokens see g_stop within 100 ms and cancel their request; idle ones are woken.
  {
    std::lock_guard<std::mutex> lock(sh.fds_mu);
    for (int fd : sh.fds) ::shutdown(fd, SHUT_RD);
  }
  while (sh.active > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  std::fprintf(stderr, "tern serve: stopped after %llu requests\n",
               static_cast<unsigned long long>(sh.counters.requests.load()));
  return 0;
}

}  // namespace tern::serve
