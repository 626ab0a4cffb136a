#include "value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace tern::jinja {

void fail(std::string message, int line) {
  throw TemplateError{std::move(message), line};
}

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Object::set(const std::string& key, Value v) {
  for (auto& [k, old] : items)
    if (k == key) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

Value Args::get(size_t i, std::string_view name, Value fallback) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return v;
  return i < positional.size() ? positional[i] : fallback;
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None:
      return false;
    case Value::Kind::Bool:
      return v.b;
    case Value::Kind::Int:
      return v.i != 0;
    case Value::Kind::Float:
      return v.f != 0;
    case Value::Kind::String:
      return !v.s.empty();
    case Value::Kind::Array:
      return !v.a->empty();
    case Value::Kind::Object:
      return !v.o->items.empty() || v.o->is_namespace;
    case Value::Kind::Function:
      return true;
  }
  return false;
}

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined:
      return "undefined";
    case Value::Kind::None:
      return "none";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::Int:
      return "int";
    case Value::Kind::Float:
      return "float";
    case Value::Kind::String:
      return "str";
    case Value::Kind::Array:
      return v.is_tuple ? "tuple" : "list";
    case Value::Kind::Object:
      return v.o->is_namespace ? "namespace" : "dict";
    case Value::Kind::Function:
      return "function";
  }
  return "?";
}

namespace {

// Python's float repr: the shortest round-tripping digits, positional for exponents in [-4, 16).
std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, end);
  const size_t e = sci.find('e');
  const int exp = std::stoi(sci.substr(e + 1));
  std::string sign, digits;
  for (char c : sci.substr(0, e))
    if (c == '-')
      sign = "-";
    else if (c != '.')
      digits += c;
  if (exp < -4 || exp >= 16) {
    std::string m = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
    const std::string es = std::to_string(std::abs(exp));
    return sign + m + "e" + (exp < 0 ? "-" : "+") + (es.size() < 2 ? "0" : "") + es;
  }
  if (exp < 0) return sign + "0." + std::string(size_t(-exp - 1), '0') + digits;
  if (digits.size() <= size_t(exp) + 1)
    return sign + digits + std::string(exp + 1 - digits.size(), '0') + ".0";
  return sign + digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
}

std::string string_repr(const std::string& s) {
  const char quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out + quote;
}

void json_string(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

void json_value(const Value& v, int indent, bool sort_keys, int depth, std::string& out) {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(size_t(indent) * size_t(d), ' ');
  };
  // Python's default separators: ", " and ": " without indent, "," and ": " with it.
  const char* item_sep = indent < 0 ? ", " : ",";
  switch (v.kind) {
    case Value::Kind::Undefined:
      fail("tojson: the value is undefined" + (v.s.empty() ? "" : " ('" + v.s + "')"));
    case Value::Kind::None:
      out += "null";
      return;
    case Value::Kind::Bool:
      out += v.b ? "true" : "false";
      return;
    case Value::Kind::Int:
      out += std::to_string(v.i);
      return;
    case Value::Kind::Float:
      out += std::isnan(v.f)   ? "NaN"
             : std::isinf(v.f) ? (v.f < 0 ? "-Infinity" : "Infinity")
                               : float_repr(v.f);
      return;
    case Value::Kind::String:
      json_string(v.s, out);
      return;
    case Value::Kind::Array: {
      if (v.a->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < v.a->size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        json_value((*v.a)[i], indent, sort_keys, depth + 1, out);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::Object: {
      if (v.o->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.o->items) items.push_back(&kv);
      if (sort_keys) stable_sort_values(items, [](auto* x, auto* y) { return x->first < y->first; });
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        json_string(items[i]->first, out);
        out += ": ";
        json_value(items[i]->second, indent, sort_keys, depth + 1, out);
      }
      newline(depth);
      out += '}';
      return;
    }
    case Value::Kind::Function:
      fail("tojson: a function is not JSON serializable");
  }
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u > uint64_t(INT64_MAX) ? Value::number(double(u)) : Value::integer(int64_t(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value::number(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array items;
      for (const auto& x : j) items.push_back(from_json(x));
      return Value::array(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto o = std::make_shared<Object>();
      for (auto it = j.begin(); it != j.end(); ++it) o->items.emplace_back(it.key(), from_json(it.value()));
      return Value::object(std::move(o));
    }
    default:
      return Value::none();
  }
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined:
      return "";
    case Value::Kind::None:
      return "None";
    case Value::Kind::Bool:
      return v.b ? "True" : "False";
    case Value::Kind::Int:
      return std::to_string(v.i);
    case Value::Kind::Float:
      return float_repr(v.f);
    case Value::Kind::String:
      return v.s;
    default:
      return to_repr(v);
  }
}

std::string to_repr(const Value& v) {
  switch (v.kind) {
    case Value::Kind::String:
      return string_repr(v.s);
    case Value::Kind::Array: {
      std::string out = v.is_tuple ? "(" : "[";
      for (size_t i = 0; i < v.a->size(); ++i) out += (i ? ", " : "") + to_repr((*v.a)[i]);
      if (v.is_tuple && v.a->size() == 1) out += ",";
      return out + (v.is_tuple ? ")" : "]");
    }
    case Value::Kind::Object: {
      std::string out = v.o->is_namespace ? "<Namespace {" : "{";
      for (size_t i = 0; i < v.o->items.size(); ++i)
        out += (i ? ", " : "") + string_repr(v.o->items[i].first) + ": " + to_repr(v.o->items[i].second);
      return out + (v.o->is_namespace ? "}>" : "}");
    }
    case Value::Kind::Function:
      return "<function>";
    default:
      return to_str(v);
  }
}

std::string to_json(const Value& v, int indent, bool sort_keys) {
  std::string out;
  json_value(v, indent, sort_keys, 0, out);
  return out;
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) return a.as_double() == b.as_double();
    return (a.kind == Value::Kind::Bool ? int64_t(a.b) : a.i) ==
           (b.kind == Value::Kind::Bool ? int64_t(b.b) : b.i);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None:
      return true;
    case Value::Kind::String:
      return a.s == b.s;
    case Value::Kind::Array:
      return a.a->size() == b.a->size() && std::equal(a.a->begin(), a.a->end(), b.a->begin(), equal);
    case Value::Kind::Object: {
      if (a.o == b.o) return true;
      if (a.o->items.size() != b.o->items.size()) return false;
      for (const auto& [k, v] : a.o->items) {
        const Value* w = b.o->find(k);
        if (!w || !equal(v, *w)) return false;
      }
      return true;
    }
    case Value::Kind::Function:
      return a.fn == b.fn;
    default:
      return false;
  }
}

int compare(const Value& a, const Value& b, int line) {
  if (a.is_number() && b.is_number()) {
    const double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.s.compare(b.s) < 0 ? -1 : a.s == b.s ? 0 : 1;
  if (a.is_array() && b.is_array()) {
    for (size_t i = 0; i < std::min(a.a->size(), b.a->size()); ++i)
      if (int c = compare((*a.a)[i], (*b.a)[i], line)) return c;
    return a.a->size() < b.a->size() ? -1 : a.a->size() > b.a->size() ? 1 : 0;
  }
  fail("cannot order " + type_name(a) + " and " + type_name(b), line);
}

size_t length(const Value& v, int line) {
  switch (v.kind) {
    case Value::Kind::String: {
      size_t n = 0;  // code points, as Python counts
      for (unsigned char c : v.s) n += (c & 0xc0) != 0x80;
      return n;
    }
    case Value::Kind::Array:
      return v.a->size();
    case Value::Kind::Object:
      return v.o->items.size();
    default:
      fail("object of type " + type_name(v) + " has no length", line);
  }
}

std::vector<Value> iterate(const Value& v, int line) {
  switch (v.kind) {
    case Value::Kind::Undefined:
      return {};
    case Value::Kind::Array:
      return *v.a;
    case Value::Kind::Object: {
      std::vector<Value> keys;
      for (const auto& kv : v.o->items) keys.push_back(Value::string(kv.first));
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      for (size_t i = 0; i < v.s.size();) {
        size_t n = 1;
        while (i + n < v.s.size() && (static_cast<unsigned char>(v.s[i + n]) & 0xc0) == 0x80) ++n;
        chars.push_back(Value::string(v.s.substr(i, n)));
        i += n;
      }
      return chars;
    }
    default:
      fail("object of type " + type_name(v) + " is not iterable", line);
  }
}

Value from_json_text(std::string_view text) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::ordered_json::exception& e) {
    fail(std::string("the context is not valid JSON: ") + e.what());
  }
  return from_json(j);
}

}  // namespace tern::jinja
