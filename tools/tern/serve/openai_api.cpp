#include "openai_api.h"

#include <cmath>
#include <ctime>

#include "../tool_util.h"
#include "tern/error.h"

namespace tern::serve {
namespace {

using json = nlohmann::json;

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& body, const char* name, double fallback, double lo, double hi) {
  const json* f = field(body, name);
  if (!f) return fallback;
  if (!f->is_number()) throw ApiError{400, std::string("'") + name + "' must be a number", name};
  const double v = f->get<double>();
  if (!(v >= lo && v <= hi))
    throw ApiError{
        400,
        std::string("'") + name + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi),
        name};
  return v;
}

// A message's content: a string, or a list of {"type": "text", "text": ...} parts.
std::string content_text(const json& m, size_t index) {
  const json* c = field(m, "content");
  const std::string where = "messages[" + std::to_string(index) + "].content";
  if (!c) return "";
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) throw ApiError{400, where + " must be a string or a list of text parts", where};
  std::string text;
  for (const json& part : *c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string())
      throw ApiError{400, where + ": only text parts are supported", where};
    text += part["text"].get<std::string>();
  }
  return text;
}

std::vector<std::string> stop_strings(const json& body) {
  const json* s = field(body, "stop");
  if (!s) return {};
  std::vector<std::string> out;
  if (s->is_string()) {
    out.push_back(s->get<std::string>());
  } else if (s->is_array() && s->size() <= 4) {
    for (const json& x : *s) {
      if (!x.is_string()) throw ApiError{400, "'stop' must be a string or up to 4 strings", "stop"};
      out.push_back(x.get<std::string>());
    }
  } else {
    throw ApiError{400, "'stop' must be a string or up to 4 strings", "stop"};
  }
  for (const auto& x : out)
    if (x.empty()) throw ApiError{400, "'stop' strings must not be empty", "stop"};
  return out;
}

}  // namespace

std::string error_body(const ApiError& e) {
  const char* type = e.status == 401   ? "authentication_error"
                     : e.status >= 500 ? "server_error"
                                       : "invalid_request_error";
  return dump_json(json{{"error",
                         {{"message", e.message},
                          {"type", type},
                          {"param", e.param.empty() ? json() : json(e.param)},
                          {"code", json()}}}});
}

ParsedRequest parse_request(const ApiContext& ctx, const std::string& text, bool chat) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::exception& e) {
    throw ApiError{400, std::string("the body is not valid JSON: ") + e.what(), ""};
  }
  if (!body.is_object()) throw ApiError{400, "the body must be a JSON object", ""};
  ParsedRequest p;
  p.chat = chat;
  if (const json* s = field(body, "stream")) {
    if (!s->is_boolean()) throw ApiError{400, "'stream' must be a boolean", "stream"};
    p.stream = s->get<bool>();
  }
  if (const json* so = field(body, "stream_options"); so && so->is_object())
    p.include_usage = so->value("include_usage", false);
  if (number(body, "n", 1, 1, 1) != 1) throw ApiError{400, "only n = 1 is supported", "n"};

  std::string prompt;
  bool add_bos = ctx.tokenizer.vocab().add_bos;  // completions; chat: unless the template wrote it
  if (chat) {
    if (!ctx.chat_template)
      throw ApiError{400, "the model has no chat template: use /v1/completions", "messages"};
    const json* msgs = field(body, "messages");
    if (!msgs || !msgs->is_array() || msgs->empty())
      throw ApiError{400, "'messages' must be a non-empty array", "messages"};
    std::vector<ChatMessage> messages;
    for (size_t i = 0; i < msgs->size(); ++i) {
      const json& m = (*msgs)[i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
        throw ApiError{400, "messages[" + std::to_string(i) + "] needs a string 'role'", "messages"};
      const std::string role = m["role"].get<std::string>();
      if (role != "system" && role != "user" && role != "assistant" && role != "developer" && role != "tool")
        throw ApiError{400, "messages[" + std::to_string(i) + "].role '" + role + "' is not a chat role",
                       "messages"};
      messages.push_back({role == "developer" ? "system" : role, content_text(m, i)});
    }
    try {
      prompt = ctx.chat_template->render(messages, true, ctx.bos, ctx.eos);
    } catch (const Error& e) {
      throw ApiError{400, e.what(), "messages"};
    }
    add_bos = cli::chat_prompt_needs_bos(ctx.tokenizer, prompt);
  } else {
    const json* pr = field(body, "prompt");
    if (pr && pr->is_array() && pr->size() == 1 && (*pr)[0].is_string()) pr = &(*pr)[0];
    if (!pr || !pr->is_string()) throw ApiError{400, "'prompt' must be a string", "prompt"};
    prompt = pr->get<std::string>();
  }
  Request& r = p.request;
  r.prompt = ctx.tokenizer.encode(prompt, add_bos);
  if (r.prompt.empty()) throw ApiError{400, "the prompt is empty", chat ? "messages" : "prompt"};
  if (r.prompt.size() >= ctx.n_ctx)
    throw ApiError{400,
                   "the prompt has " + std::to_string(r.prompt.size()) + " tokens; the context holds " +
                       std::to_string(ctx.n_ctx),
                   chat ? "messages" : "prompt"};
  const double room = double(ctx.n_ctx - r.prompt.size());
  const char* max_key = chat && field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  r.max_tokens = int(number(body, max_key, std::min(room, 2048.0), 1, 1e9));
  r.max_tokens = int(std::min<double>(r.max_tokens, room));
  r.sampler.temperature = float(number(body, "temperature", 0.8, 0, 2));
  r.sampler.top_p = float(number(body, "top_p", 0.95, 0, 1));
  r.sampler.top_k = int(number(body, "top_k", 40, 0, 1 << 20));
  r.sampler.min_p = float(number(body, "min_p", 0.05, 0, 1));
  r.sampler.presence_penalty = float(number(body, "presence_penalty", 0, -2, 2));
  r.sampler.frequency_penalty = float(number(body, "frequency_penalty", 0, -2, 2));
  r.sampler.repeat_penalty = float(number(body, "repeat_penalty", 1, 1e-3, 100));
  r.sampler.seed = uint64_t(number(body, "seed", double(std::time(nullptr)), 0, 9007199254740992.0));
  r.stop = stop_strings(body);
  if (const json* ie = field(body, "ignore_eos")) {
    if (!ie->is_boolean()) throw ApiError{400, "'ignore_eos' must be a boolean", "ignore_eos"};
    r.ignore_eos = ie->get<bool>();
  }
  return p;
}

namespace {

json usage(const Event& e) {
  return {{"prompt_tokens", e.prompt_tokens},
          {"completion_tokens", e.completion_tokens},
          {"total_tokens", e.prompt_tokens + e.completion_tokens}};
}

}  // namespace

json completion_response(const ParsedRequest& r, const std::string& id, const ApiContext& ctx,
                         const std::string& text, const Event& e) {
  json choice = {{"index", 0}, {"finish_reason", e.finish_reason}};
  if (r.chat)
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  else
    choice.update({{"text", text}, {"logprobs", json()}});
  return {{"id", id},
          {"object", r.chat ? "chat.completion" : "text_completion"},
          {"created", std::time(nullptr)},
          {"model", ctx.model_name},
          {"choices", json::array({choice})},
          {"usage", usage(e)}};
}

json stream_chunk(const ParsedRequest& r, const std::string& id, const ApiContext& ctx,
                  const std::string& text, const std::optional<std::string>& finish_reason, bool first) {
  json choice = {{"index", 0}, {"finish_reason", finish_reason ? json(*finish_reason) : json()}};
  if (r.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!finish_reason) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice.update({{"text", text}, {"logprobs", json()}});
  }
  return {{"id", id},
          {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", std::time(nullptr)},
          {"model", ctx.model_name},
          {"choices", json::array({choice})}};
}

json usage_chunk(const ParsedRequest& r, const std::string& id, const ApiContext& ctx, const Event& e) {
  return {{"id", id},
          {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", std::time(nullptr)},
          {"model", ctx.model_name},
          {"choices", json::array()},
          {"usage", usage(e)}};
}

json models_response(const ApiContext& ctx) {
  return {{"object", "list"},
          {"data", json::array({{{"id", ctx.model_name},
                                 {"object", "model"},
                                 {"created", std::time(nullptr)},
                                 {"owned_by", "tern"}}})}};
}

}  // namespace tern::serve
