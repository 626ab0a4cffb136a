#include "tern/chat_template.h"

#include <nlohmann/json.hpp>

#include "jinja/ast.h"
#include "jinja/interpreter.h"
#include "tern/error.h"

namespace tern {

struct ChatTemplate::Impl {
  std::string name;
  jinja::Body body;
};

namespace {

[[noreturn]] void rethrow(const std::string& name, const jinja::TemplateError& e) {
  throw Error(name + ": chat template" + (e.line ? " line " + std::to_string(e.line) : "") + ": " +
              e.message);
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, std::string name) : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  try {
    impl_->body = jinja::parse_template(source);
    jinja::check_supported(impl_->body);
  } catch (const jinja::TemplateError& e) {
    rethrow(impl_->name, e);
  } catch (const std::exception& e) {  // a library error the interpreter did not foresee: still one line
    throw Error(impl_->name + ": chat template: " + e.what());
  }
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const std::string& bos_token, const std::string& eos_token) const {
  nlohmann::ordered_json ctx;
  ctx["messages"] = nlohmann::ordered_json::array();
  for (const auto& m : messages) ctx["messages"].push_back({{"role", m.role}, {"content", m.content}});
  ctx["add_generation_prompt"] = add_generation_prompt;
  ctx["bos_token"] = bos_token;
  ctx["eos_token"] = eos_token;
  return render_json(ctx.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

std::string ChatTemplate::render_json(std::string_view context_json) const {
  try {
    return jinja::render(impl_->body, jinja::from_json_text(context_json));
  } catch (const jinja::TemplateError& e) {
    rethrow(impl_->name, e);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(impl_->name + ": chat template: " + e.what());
  }
}

}  // namespace tern
