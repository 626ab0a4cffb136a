// Jinja's filters and tests, Python's str and dict methods, and the globals transformers gives chat
// templates, each as the Python original behaves on the values templates see (ASCII case mapping only).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>

#include "interpreter.h"

namespace tern::jinja {
namespace {

constexpr const char* kWhitespace = " \t\n\r\f\v";
constexpr int64_t kMaxRange = 1 << 16;
constexpr size_t kMaxString = size_t(64) << 20;

void check_size(const std::string& s) {
  if (s.size() > kMaxString) fail("a string above 64 MiB");
}

std::string as_string(const Value& v, const char* what, int line) {
  if (!v.is_string()) fail(std::string(what) + " needs a string, not " + type_name(v), line);
  return v.s;
}
std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  const std::string set = chars.is_string() ? chars.s : kWhitespace;
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && set.find(s[b]) != std::string::npos) ++b;
  if (right)
    while (e > b && set.find(s[e - 1]) != std::string::npos) --e;
  return s.substr(b, e - b);
}
std::string capitalize(const std::string& s) {
  std::string out = lower(s);
  if (!out.empty()) out[0] = char(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}
std::string title(const std::string& s) {  // Python's str.title
  std::string out = s;
  bool prev_cased = false;
  for (char& c : out) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c));
    c = char(alpha && !prev_cased ? std::toupper(static_cast<unsigned char>(c))
                                  : std::tolower(static_cast<unsigned char>(c)));
    prev_cased = alpha;
  }
  return out;
}
std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  size_t pos = 0;
  int64_t n = 0;
  if (from.empty()) {  // Python inserts `to` between every character
    for (size_t i = 0; i <= s.size(); ++i) {
      if (count < 0 || n < count) out += to, ++n;
      if (i < s.size()) out += s[i];
      check_size(out);
    }
    return out;
  }
  while (true) {
    const size_t f = s.find(from, pos);
    if (f == std::string::npos || (count >= 0 && n >= count)) break;
    out += s.substr(pos, f - pos) + to;
    check_size(out);
    pos = f + from.size();
    ++n;
  }
  return out + s.substr(pos);
}
Value split(const std::string& s, const Value& sep, int64_t maxsplit, int line) {
  Array parts;
  if (!sep.is_string() || sep.is_none()) {  // runs of whitespace, no empty parts
    size_t i = 0;
    while (true) {
      while (i < s.size() && std::strchr(kWhitespace, s[i]) && s[i]) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
        parts.push_back(Value::string(strip(s.substr(i), Value::undefined(), false, true)));
        break;
      }
      size_t j = i;
      while (j < s.size() && !std::strchr(kWhitespace, s[j])) ++j;
      parts.push_back(Value::string(s.substr(i, j - i)));
      i = j;
    }
    return Value::array(std::move(parts));
  }
  if (sep.s.empty()) fail("split: empty separator", line);
  size_t pos = 0;
  while (true) {
    const size_t f = s.find(sep.s, pos);
    if (f == std::string::npos || (maxsplit >= 0 && int64_t(parts.size()) == maxsplit)) break;
    parts.push_back(Value::string(s.substr(pos, f - pos)));
    pos = f + sep.s.size();
  }
  parts.push_back(Value::string(s.substr(pos)));
  return Value::array(std::move(parts));
}
bool affix(const std::string& s, const Value& what, bool prefix, int line) {
  auto one = [&](const Value& w) {
    const std::string a = as_string(w, prefix ? "startswith" : "endswith", line);
    return a.size() <= s.size() &&
           (prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0);
  };
  if (what.is_array()) return std::any_of(what.a->begin(), what.a->end(), one);
  return one(what);
}
int64_t as_int(const Value& v, int64_t fallback) {
  if (v.kind == Value::Kind::Int) return v.i;
  if (v.kind == Value::Kind::Bool) return v.b;
  return fallback;
}

Value bound(Function f) {
  return Value::function(std::move(f));
}

// item.a.b for attribute="a.b" (map, sort, selectattr, ...); integer parts index lists.
Value attribute_of(const Value& v, const Value& attr, int line) {
  Value cur = v;
  const std::string path = attr.kind == Value::Kind::Int ? to_str(attr) : as_string(attr, "attribute", line);
  // The parts must outlive the loop, and each step copies before replacing `cur`, which owns what it reads.
  const Value parts = split(path, Value::string("."), -1, line);
  for (const Value& part : *parts.a) {
    Value next = Value::undefined(part.s);
    if (cur.is_object()) {
      if (const Value* f = cur.o->find(part.s)) next = *f;
    } else if (cur.is_array() && !part.s.empty() && part.s.size() < 10 &&
               std::all_of(part.s.begin(), part.s.end(), ::isdigit)) {
      const size_t i = std::stoul(part.s);
      next = i < cur.a->size() ? (*cur.a)[i] : Value::undefined();
    }
    cur = std::move(next);
  }
  return cur;
}

using FilterFn = Value (*)(const Value&, Args&);
using TestFn = bool (*)(const Value&, Args&);

// select / reject / selectattr / rejectattr: a test by name on each item (or an attribute of it).
Value select_items(const Value& v, Args& a, bool by_attr, bool keep) {
  Array out;
  Args test_args;
  test_args.line = a.line;
  size_t first = by_attr ? 1 : 0;
  const std::string test =
      a.positional.size() > first ? as_string(a.positional[first], "select", a.line) : "";
  for (size_t i = first + 1; i < a.positional.size(); ++i) test_args.positional.push_back(a.positional[i]);
  for (const Value& item : iterate(v, a.line)) {
    const Value x = by_attr ? attribute_of(item, a.get(0, "attribute"), a.line) : item;
    const bool pass = test.empty() ? truthy(x) : apply_test(test, x, test_args);
    if (pass == keep) out.push_back(item);
  }
  return Value::array(std::move(out));
}

const std::map<std::string, FilterFn>& filters() {
  static const std::map<std::string, FilterFn> kFilters = {
      {"abs",
       [](const Value& v, Args& a) {
         if (!v.is_number()) fail("abs needs a number", a.line);
         return v.kind == Value::Kind::Float ? Value::number(std::fabs(v.f))
                                             : Value::integer(std::llabs(as_int(v, 0)));
       }},
      {"capitalize", [](const Value& v, Args&) { return Value::string(capitalize(to_str(v))); }},
      {"count", [](const Value& v, Args& a) { return Value::integer(int64_t(length(v, a.line))); }},
      {"default",
       [](const Value& v, Args& a) {
         const bool boolean = truthy(a.get(1, "boolean", Value::boolean(false)));
         if (v.is_undefined() || (boolean && !truthy(v))) return a.get(0, "default_value", Value::string(""));
         return v;
       }},
      {"dictsort",
       [](const Value& v, Args& a) {
         if (!v.is_object()) fail("dictsort needs a dict", a.line);
         auto items = v.o->items;
         stable_sort_values(items, [](auto& x, auto& y) { return lower(x.first) < lower(y.first); });
         Array out;
         for (auto& [k, x] : items) out.push_back(Value::array({Value::string(k), x}, true));
         return Value::array(std::move(out));
       }},
      {"escape",
       [](const Value& v, Args&) {
         std::string out;
         for (char c : to_str(v)) {
           switch (c) {
             case '&':
               out += "&amp;";
               break;
             case '<':
               out += "&lt;";
               break;
             case '>':
               out += "&gt;";
               break;
             case '"':
               out += "&#34;";
               break;
             case '\'':
               out += "&#39;";
               break;
             default:
               out += c;
           }
         }
         return Value::string(std::move(out));
       }},
      {"first",
       [](const Value& v, Args& a) {
         auto items = iterate(v, a.line);
         return items.empty() ? Value::undefined() : items.front();
       }},
      {"float",
       [](const Value& v, Args& a) {
         if (v.is_number()) return Value::number(v.as_double());
         try {
           return Value::number(std::stod(as_string(v, "float", a.line)));
         } catch (const std::exception&) {
           return a.get(0, "default", Value::number(0));
         }
       }},
      {"int",
       [](const Value& v, Args& a) {
         if (v.is_number()) return Value::integer(int64_t(v.as_double()));
         try {
           size_t used = 0;
           const std::string s = strip(to_str(v), Value::undefined(), true, true);
           const int64_t i = std::stoll(s, &used);
           if (used == s.size()) return Value::integer(i);
         } catch (const std::exception&) {
         }
         return a.get(0, "default", Value::integer(0));
       }},
      {"items",
       [](const Value& v, Args& a) {
         if (v.is_undefined()) return Value::array();
         if (!v.is_object()) fail("items needs a dict, not " + type_name(v), a.line);
         Array out;
         for (auto& [k, x] : v.o->items) out.push_back(Value::array({Value::string(k), x}, true));
         return Value::array(std::move(out));
       }},
      {"join",
       [](const Value& v, Args& a) {
         const std::string sep = to_str(a.get(0, "d", Value::string("")));
         const Value attr = a.get(1, "attribute");
         std::string out;
         bool first = true;
         for (const Value& item : iterate(v, a.line)) {
           out += (first ? "" : sep) + to_str(attr.is_undefined() ? item : attribute_of(item, attr, a.line));
           check_size(out);
           first = false;
         }
         return Value::string(std::move(out));
       }},
      {"last",
       [](const Value& v, Args& a) {
         auto items = iterate(v, a.line);
         return items.empty() ? Value::undefined() : items.back();
       }},
      {"length", [](const Value& v, Args& a) { return Value::integer(int64_t(length(v, a.line))); }},
      {"list", [](const Value& v, Args& a) { return Value::array(iterate(v, a.line)); }},
      {"lower", [](const Value& v, Args&) { return Value::string(lower(to_str(v))); }},
      {"map",
       [](const Value& v, Args& a) {
         Array out;
         const Value attr = a.get(99, "attribute");
         Args rest;
         rest.line = a.line;
         for (size_t i = 1; i < a.positional.size(); ++i) rest.positional.push_back(a.positional[i]);
         for (const Value& item : iterate(v, a.line)) {
           if (!attr.is_undefined()) {
             Value x = attribute_of(item, attr, a.line);
             out.push_back(x.is_undefined() ? a.get(99, "default") : x);
           } else {
             out.push_back(apply_filter(as_string(a.get(0, "filter"), "map", a.line), item, rest));
           }
         }
         return Value::array(std::move(out));
       }},
      {"max",
       [](const Value& v, Args& a) {
         auto items = iterate(v, a.line);
         if (items.empty()) return Value::undefined();
         return *std::max_element(items.begin(), items.end(),
                                  [&](auto& x, auto& y) { return compare(x, y, a.line) < 0; });
       }},
      {"min",
       [](const Value& v, Args& a) {
         auto items = iterate(v, a.line);
         if (items.empty()) return Value::undefined();
         return *std::min_element(items.begin(), items.end(),
                                  [&](auto& x, auto& y) { return compare(x, y, a.line) < 0; });
       }},
      {"reject", [](const Value& v, Args& a) { return select_items(v, a, false, false); }},
      {"rejectattr", [](const Value& v, Args& a) { return select_items(v, a, true, false); }},
      {"replace",
       [](const Value& v, Args& a) {
         return Value::string(replace(to_str(v), to_str(a.get(0, "old")), to_str(a.get(1, "new")),
                                      as_int(a.get(2, "count", Value::integer(-1)), -1)));
       }},
      {"reverse",
       [](const Value& v, Args& a) {
         auto items = iterate(v, a.line);
         std::reverse(items.begin(), items.end());
         if (!v.is_string()) return Value::array(std::move(items));
         std::string s;
         for (auto& c : items) s += c.s;
         return Value::string(std::move(s));
       }},
      {"round",
       [](const Value& v, Args& a) {
         if (!v.is_number()) fail("round needs a number", a.line);
         const double p = std::pow(10.0, double(as_int(a.get(0, "precision", Value::integer(0)), 0)));
         const std::string method = to_str(a.get(1, "method", Value::string("common")));
         const double x = v.as_double() * p;
         const double r = method == "floor" ? std::floor(x) : method == "ceil" ? std::ceil(x) : std::round(x);
         return Value::number(r / p);
       }},
      {"safe", [](const Value& v, Args&) { return v; }},
      {"select", [](const Value& v, Args& a) { return select_items(v, a, false, true); }},
      {"selectattr", [](const Value& v, Args& a) { return select_items(v, a, true, true); }},
      {"sort",
       [](const Value& v, Args& a) {
         auto items = iterate(v, a.line);
         const bool rev = truthy(a.get(0, "reverse", Value::boolean(false)));
         const bool cs = truthy(a.get(1, "case_sensitive", Value::boolean(false)));
         const Value attr = a.get(2, "attribute");
         auto key = [&](const Value& x) {
           Value k = attr.is_undefined() ? x : attribute_of(x, attr, a.line);
           if (!cs && k.is_string()) k.s = lower(k.s);
           return k;
         };
         stable_sort_values(items, [&](const Value& x, const Value& y) {
           return rev ? compare(key(y), key(x), a.line) < 0 : compare(key(x), key(y), a.line) < 0;
         });
         return Value::array(std::move(items));
       }},
      {"string", [](const Value& v, Args&) { return Value::string(to_str(v)); }},
      {"sum",
       [](const Value& v, Args& a) {
         const Value attr = a.get(0, "attribute");
         Value total = a.get(1, "start", Value::integer(0));
         for (const Value& item : iterate(v, a.line)) {
           const Value x = attr.is_undefined() ? item : attribute_of(item, attr, a.line);
           if (!x.is_number() || !total.is_number()) fail("sum needs numbers", a.line);
           total = total.kind == Value::Kind::Float || x.kind == Value::Kind::Float
                       ? Value::number(total.as_double() + x.as_double())
                       : Value::integer(as_int(total, 0) + as_int(x, 0));
         }
         return total;
       }},
      {"title", [](const Value& v, Args&) { return Value::string(title(to_str(v))); }},
      {"tojson",
       [](const Value& v, Args& a) {
         // transformers' tojson: json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
         if (truthy(a.get(0, "ensure_ascii", Value::boolean(false))))
           fail("tojson(ensure_ascii=True) is not supported", a.line);
         if (!a.get(2, "separators").is_undefined() && !a.get(2, "separators").is_none())
           fail("tojson(separators=...) is not supported", a.line);
         const Value indent = a.get(1, "indent");
         return Value::string(to_json(v, indent.kind == Value::Kind::Int ? int(indent.i) : -1,
                                      truthy(a.get(3, "sort_keys", Value::boolean(false)))));
       }},
      {"trim", [](const Value& v,
                  Args& a) { return Value::string(strip(to_str(v), a.get(0, "chars"), true, true)); }},
      {"unique",
       [](const Value& v, Args& a) {
         Array out;
         for (const Value& item : iterate(v, a.line))
           if (std::none_of(out.begin(), out.end(), [&](const Value& x) {
                 return x.is_string() && item.is_string() ? lower(x.s) == lower(item.s) : equal(x, item);
               }))
             out.push_back(item);
         return Value::array(std::move(out));
       }},
      {"upper", [](const Value& v, Args&) { return Value::string(upper(to_str(v))); }},
      {"wordcount",
       [](const Value& v, Args& a) {
         return Value::integer(int64_t(split(to_str(v), Value::undefined(), -1, a.line).a->size()));
       }},
  };
  return kFilters;
}

const std::map<std::string, TestFn>& tests() {
  static const std::map<std::string, TestFn> kTests = {
      {"boolean", [](const Value& v, Args&) { return v.kind == Value::Kind::Bool; }},
      {"callable", [](const Value& v, Args&) { return v.kind == Value::Kind::Function; }},
      {"defined", [](const Value& v, Args&) { return !v.is_undefined(); }},
      {"divisibleby",
       [](const Value& v, Args& a) {
         const int64_t n = as_int(a.get(0, "num"), 0);
         if (n == 0) fail("divisibleby(0)", a.line);
         return as_int(v, 1) % n == 0;
       }},
      {"eq", [](const Value& v, Args& a) { return equal(v, a.get(0, "other")); }},
      {"even", [](const Value& v, Args&) { return as_int(v, 1) % 2 == 0; }},
      {"false", [](const Value& v, Args&) { return v.kind == Value::Kind::Bool && !v.b; }},
      {"float", [](const Value& v, Args&) { return v.kind == Value::Kind::Float; }},
      {"ge", [](const Value& v, Args& a) { return compare(v, a.get(0, "other"), a.line) >= 0; }},
      {"gt", [](const Value& v, Args& a) { return compare(v, a.get(0, "other"), a.line) > 0; }},
      {"in",
       [](const Value& v, Args& a) {
         const Value c = a.get(0, "seq");
         if (c.is_string()) return v.is_string() && c.s.find(v.s) != std::string::npos;
         if (c.is_object()) return v.is_string() && c.o->find(v.s) != nullptr;
         for (const Value& x : iterate(c, a.line))
           if (equal(x, v)) return true;
         return false;
       }},
      {"integer", [](const Value& v, Args&) { return v.kind == Value::Kind::Int; }},
      {"iterable", [](const Value& v, Args&) { return v.is_array() || v.is_object() || v.is_string(); }},
      {"le", [](const Value& v, Args& a) { return compare(v, a.get(0, "other"), a.line) <= 0; }},
      {"lower", [](const Value& v, Args&) { return v.is_string() && lower(v.s) == v.s; }},
      {"lt", [](const Value& v, Args& a) { return compare(v, a.get(0, "other"), a.line) < 0; }},
      {"mapping", [](const Value& v, Args&) { return v.is_object(); }},
      {"ne", [](const Value& v, Args& a) { return !equal(v, a.get(0, "other")); }},
      {"none", [](const Value& v, Args&) { return v.is_none(); }},
      {"number", [](const Value& v, Args&) { return v.is_number(); }},
      {"odd", [](const Value& v, Args&) { return as_int(v, 0) % 2 != 0; }},
      {"sameas",
       [](const Value& v, Args& a) {
         const Value o = a.get(0, "other");
         if (v.is_object() && o.is_object()) return v.o == o.o;
         if (v.is_array() && o.is_array()) return v.a == o.a;
         return v.kind == o.kind && equal(v, o);
       }},
      {"sequence", [](const Value& v, Args&) { return v.is_array() || v.is_object() || v.is_string(); }},
      {"string", [](const Value& v, Args&) { return v.is_string(); }},
      {"true", [](const Value& v, Args&) { return v.kind == Value::Kind::Bool && v.b; }},
      {"undefined", [](const Value& v, Args&) { return v.is_undefined(); }},
      {"upper", [](const Value& v, Args&) { return v.is_string() && upper(v.s) == v.s; }},
  };
  return kTests;
}

const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> kAliases = {
      {"d", "default"},      {"e", "escape"}, {"==", "eq"},       {"equalto", "eq"},
      {"!=", "ne"},          {"<", "lt"},     {"lessthan", "lt"}, {">", "gt"},
      {"greaterthan", "gt"}, {"<=", "le"},    {">=", "ge"}};
  return kAliases;
}
std::string canonical(const std::string& name) {
  auto it = aliases().find(name);
  return it == aliases().end() ? name : it->second;
}

}  // namespace

bool has_filter(const std::string& name) {
  return filters().count(canonical(name)) > 0;
}
bool has_test(const std::string& name) {
  return tests().count(canonical(name)) > 0;
}

Value apply_filter(const std::string& name, const Value& v, Args& args) {
  auto it = filters().find(canonical(name));
  if (it == filters().end()) fail("unsupported filter '" + name + "'", args.line);
  return it->second(v, args);
}

bool apply_test(const std::string& name, const Value& v, Args& args) {
  auto it = tests().find(canonical(name));
  if (it == tests().end()) fail("unsupported test '" + name + "'", args.line);
  return it->second(v, args);
}

Value method(const Value& obj, const std::string& name, int line) {
  if (obj.is_string()) {
    const std::string s = obj.s;
    if (name == "strip" || name == "lstrip" || name == "rstrip")
      return bound([s, name](Args& a) {
        return Value::string(strip(s, a.get(0, "chars"), name != "rstrip", name != "lstrip"));
      });
    if (name == "upper") return bound([s](Args&) { return Value::string(upper(s)); });
    if (name == "lower") return bound([s](Args&) { return Value::string(lower(s)); });
    if (name == "title") return bound([s](Args&) { return Value::string(title(s)); });
    if (name == "capitalize") return bound([s](Args&) { return Value::string(capitalize(s)); });
    if (name == "startswith" || name == "endswith")
      return bound([s, name](Args& a) {
        return Value::boolean(affix(s, a.get(0, "prefix"), name == "startswith", a.line));
      });
    if (name == "split")
      return bound([s](Args& a) {
        return split(s, a.get(0, "sep"), as_int(a.get(1, "maxsplit", Value::integer(-1)), -1), a.line);
      });
    if (name == "replace")
      return bound([s](Args& a) {
        return Value::string(replace(s, as_string(a.get(0, "old"), "replace", a.line),
                                     as_string(a.get(1, "new"), "replace", a.line),
                                     as_int(a.get(2, "count", Value::integer(-1)), -1)));
      });
    if (name == "find")
      return bound([s](Args& a) {
        const size_t f = s.find(as_string(a.get(0, "sub"), "find", a.line));
        return Value::integer(f == std::string::npos ? -1 : int64_t(f));
      });
    if (name == "join")
      return bound([s](Args& a) {
        std::string out;
        bool first = true;
        for (const Value& x : iterate(a.get(0, "iterable"), a.line)) {
          out += (first ? "" : s) + as_string(x, "join", a.line);
          check_size(out);
          first = false;
        }
        return Value::string(std::move(out));
      });
    return Value::undefined(name);
  }
  if (obj.is_object()) {
    const auto o = obj.o;
    if (name == "items")
      return bound([o](Args&) {
        Array out;
        for (auto& [k, x] : o->items) out.push_back(Value::array({Value::string(k), x}, true));
        return Value::array(std::move(out));
      });
    if (name == "keys")
      return bound([o](Args&) {
        Array out;
        for (auto& kv : o->items) out.push_back(Value::string(kv.first));
        return Value::array(std::move(out));
      });
    if (name == "values")
      return bound([o](Args&) {
        Array out;
        for (auto& kv : o->items) out.push_back(kv.second);
        return Value::array(std::move(out));
      });
    if (name == "get")
      return bound([o](Args& a) {
        const Value k = a.get(0, "key");
        const Value* v = k.is_string() ? o->find(k.s) : nullptr;
        return v ? *v : a.get(1, "default", Value::none());
      });
  }
  (void)line;
  return Value::undefined(name);
}

void add_globals(Object& g) {
  g.set("range", Value::function([](Args& a) {
          int64_t start = 0, stop, step = 1;
          if (a.positional.size() == 1) {
            stop = as_int(a.positional[0], 0);
          } else if (a.positional.size() >= 2) {
            start = as_int(a.positional[0], 0);
            stop = as_int(a.positional[1], 0);
            if (a.positional.size() > 2) step = as_int(a.positional[2], 1);
          } else {
            fail("range() needs arguments", a.line);
          }
          if (step == 0) fail("range() step must not be zero", a.line);
          Array out;
          for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
            if (int64_t(out.size()) >= kMaxRange) fail("range() longer than 65536 items", a.line);
            out.push_back(Value::integer(i));
          }
          return Value::array(std::move(out));
        }));
  auto make_object = [](bool ns) {
    return [ns](Args& a) {
      auto o = std::make_shared<Object>();
      o->is_namespace = ns;
      for (const Value& p : a.positional)
        if (p.is_object())
          for (auto& [k, v] : p.o->items) o->set(k, v);
      for (auto& [k, v] : a.keyword) o->set(k, v);
      return Value::object(std::move(o));
    };
  };
  g.set("namespace", Value::function(make_object(true)));
  g.set("dict", Value::function(make_object(false)));
  g.set("raise_exception", Value::function([](Args& a) -> Value {
          fail("the template raised an exception: " + to_str(a.get(0, "message")), a.line);
        }));
  g.set("strftime_now", Value::function([](Args& a) {
          const std::time_t now = std::time(nullptr);
          std::tm tm{};
          localtime_r(&now, &tm);
          char buf[256];
          const size_t n = std::strftime(buf, sizeof buf,
                                         as_string(a.get(0, "format"), "strftime_now", a.line).c_str(), &tm);
          return Value::string(std::string(buf, n));
        }));
}

}  // namespace tern::jinja
