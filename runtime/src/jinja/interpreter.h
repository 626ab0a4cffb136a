#pragma once
// Running a parsed template (ast.h) against a context of values.
#include <string>

#include "ast.h"
#include "value.h"

namespace tern::jinja {

// Checks that every filter, test and tag the template uses is one the interpreter has, so that a template
// fails when it is loaded, not halfway through a conversation.
void check_supported(const Body& body);

// Renders `body` with the context's top-level keys as variables, plus the globals Hugging Face gives chat
// templates (range, namespace, dict, raise_exception, strftime_now).
std::string render(const Body& body, const Value& context);

// Filters, tests and methods (builtins.cpp).
bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& v, Args& args);
bool apply_test(const std::string& name, const Value& v, Args& args);
// obj.name as a bound method (str, dict methods), or undefined.
Value method(const Value& obj, const std::string& name, int line);
void add_globals(Object& globals);

}  // namespace tern::jinja
