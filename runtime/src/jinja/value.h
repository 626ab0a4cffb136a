#pragma once
// Values of tern's Jinja interpreter (chat templates), with Python's semantics where templates can see them:
// truthiness, str() / repr() printing, json.dumps, equality and ordering, and insertion-ordered dicts.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::jinja {

// A template failure: what went wrong, and the template line (0: unknown). ChatTemplate turns it into a
// tern::Error that names the template.
struct TemplateError {
  std::string message;
  int line = 0;
};
[[noreturn]] void fail(std::string message, int line = 0);

struct Value;
using Array = std::vector<Value>;
struct Object {
  std::vector<std::pair<std::string, Value>> items;  // insertion order, as a Python dict
  bool is_namespace = false;                         // namespace(): attributes assignable with `set ns.x`
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
};
struct Args;
using Function = std::function<Value(Args&)>;

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object, Function };
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // String; for Undefined, the name that was not found (for messages)
  std::shared_ptr<Array> a;
  bool is_tuple = false;  // Array: printed as (...) like a Python tuple
  std::shared_ptr<Object> o;
  std::shared_ptr<Function> fn;

  static Value undefined(std::string name = "") {
    Value v;
    v.s = std::move(name);
    return v;
  }
  static Value none() { return make(Kind::None); }
  static Value boolean(bool x) {
    Value v = make(Kind::Bool);
    v.b = x;
    return v;
  }
  static Value integer(int64_t x) {
    Value v = make(Kind::Int);
    v.i = x;
    return v;
  }
  static Value number(double x) {
    Value v = make(Kind::Float);
    v.f = x;
    return v;
  }
  static Value string(std::string x) {
    Value v = make(Kind::String);
    v.s = std::move(x);
    return v;
  }
  static Value array(Array items = {}, bool tuple = false) {
    Value v = make(Kind::Array);
    v.a = std::make_shared<Array>(std::move(items));
    v.is_tuple = tuple;
    return v;
  }
  static Value object(std::shared_ptr<Object> o = std::make_shared<Object>()) {
    Value v = make(Kind::Object);
    v.o = std::move(o);
    return v;
  }
  static Value function(Function f) {
    Value v = make(Kind::Function);
    v.fn = std::make_shared<Function>(std::move(f));
    return v;
  }

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool is_array() const { return kind == Kind::Array; }
  bool is_object() const { return kind == Kind::Object; }
  double as_double() const { return kind == Kind::Float ? f : double(kind == Kind::Bool ? b : i); }

 private:
  static Value make(Kind k) {
    Value v;
    v.kind = k;
    return v;
  }
};

// Arguments of a call: positional, then keyword (name, value), as the template wrote them.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  int line = 0;
  // The i-th argument, positional or by name; `fallback` if absent.
  Value get(size_t i, std::string_view name, Value fallback = Value::undefined()) const;
};

bool truthy(const Value& v);
std::string type_name(const Value& v);
std::string to_str(const Value& v);   // Python str()
std::string to_repr(const Value& v);  // Python repr()
// json.dumps(v, ensure_ascii=False, indent=indent (< 0: None), sort_keys=sort_keys), Python's separators.
std::string to_json(const Value& v, int indent = -1, bool sort_keys = false);
bool equal(const Value& a, const Value& b);
int compare(const Value& a, const Value& b, int line);  // <0, 0, >0; fails on unorderable types
size_t length(const Value& v, int line);
// The items a for loop or filter walks: array items, dict keys, string characters; undefined: none.
std::vector<Value> iterate(const Value& v, int line);
// A JSON document (the render context) as values.
Value from_json_text(std::string_view text);

// std::stable_sort without its temporary buffer (which libstdc++ 12 marks deprecated under clang): equal
// elements keep their order, as Python's sort does.
template <class T, class Less>
void stable_sort_values(std::vector<T>& v, Less less) {
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (less(v[a], v[b])) return true;
    if (less(v[b], v[a])) return false;
    return a < b;
  });
  std::vector<T> sorted;
  sorted.reserve(v.size());
  for (size_t i : order) sorted.push_back(std::move(v[i]));
  v.swap(sorted);
}

}  // namespace tern::jinja
