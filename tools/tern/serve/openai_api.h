#pragma once
// The OpenAI-compatible API of `tern serve`: requests parsed and checked into engine requests, and the
// response bodies and stream chunks the official clients expect.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine.h"
#include "tern/chat_template.h"
#include "tern/tokenizer.h"

namespace tern::serve {

// A request the API refuses: HTTP status and an OpenAI-style error object.
struct ApiError {
  int status;
  std::string message;
  std::string param;  // the offending field, if any
};
std::string error_body(const ApiError& e);
// JSON text for the wire; invalid UTF-8 (a model can produce it) becomes U+FFFD instead of an exception.
inline std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct ApiContext {
  const Tokenizer& tokenizer;
  const ChatTemplate* chat_template;  // null: the model has none (chat completions are refused)
  std::string model_name;
  size_t n_ctx;
  std::string bos, eos;  // the template's bos_token / eos_token
};

struct ParsedRequest {
  Request request;
  bool chat = false, stream = false, include_usage = false;
};

// POST /v1/chat/completions (chat) or /v1/completions; throws ApiError.
ParsedRequest parse_request(const ApiContext& ctx, const std::string& body, bool chat);

// Bodies: the whole response, or one SSE chunk (`text` delta, or the final one with finish_reason).
nlohmann::json completion_response(const ParsedRequest& r, const std::string& id, const ApiContext& ctx,
                                   const std::string& text, const Event& final_event);
nlohmann::json stream_chunk(const ParsedRequest& r, const std::string& id, const ApiContext& ctx,
                            const std::string& text, const std::optional<std::string>& finish_reason,
                            bool first);
nlohmann::json usage_chunk(const ParsedRequest& r, const std::string& id, const ApiContext& ctx,
                           const Event& e);
nlohmann::json models_response(const ApiContext& ctx);

}  // namespace tern::serve
