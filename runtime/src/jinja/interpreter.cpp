// Jinja's semantics as chat templates meet them: a for loop's body is its own scope (a `set` inside does not
// leak: templates carry state across iterations in namespace() objects), `if` is not a scope, macros see the
// template's top level and their arguments, undefined names are falsy and print as nothing, and `and` / `or`
// return an operand as Python does.
#include "interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace tern::jinja {
namespace {

// Bounds that keep a hostile template from exhausting the machine.
constexpr size_t kMaxOutputBytes = size_t(64) << 20;
constexpr int kMaxCallDepth = 100;
// Statements and loop iterations one render may run (nested range() loops could otherwise run for hours; real
// chat templates take thousands).
constexpr uint64_t kMaxSteps = 1'000'000;
constexpr size_t kMaxItems = size_t(1) << 22;  // a list built by + (doubling in a loop would exhaust memory)

using Scope = std::unordered_map<std::string, Value>;

class Interpreter {
 public:
  explicit Interpreter(const Value& context) {
    scopes_.emplace_back();
    Object globals;
    add_globals(globals);
    for (auto& [k, v] : globals.items) scopes_[0][k] = v;
    if (context.is_object())
      for (const auto& [k, v] : context.o->items) scopes_[0][k] = v;
    scopes_.emplace_back();  // the template's top level
  }

  std::string run(const Body& body) {
    std::string out;
    exec(body, out);
    return out;
  }

 private:
  enum class Flow { Normal, Break, Continue };

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (auto f = it->find(name); f != it->end()) return f->second;
    return Value::undefined(name);
  }

  Flow exec(const Body& body, std::string& out) {
    for (const auto& st : body)
      if (Flow f = exec(*st, out); f != Flow::Normal) return f;
    return Flow::Normal;
  }

  void step(int line) {
    if (++steps_ > kMaxSteps) fail("the template runs too long (over a million steps)", line);
  }

  Flow exec(const Stmt& st, std::string& out) {
    step(st.line);
    switch (st.kind) {
      case Stmt::Kind::Text:
        write(out, st.text, st.line);
        break;
      case Stmt::Kind::Print:
        write(out, to_str(eval(*st.expr)), st.line);
        break;
      case Stmt::Kind::If:
        for (size_t i = 0; i < st.bodies.size(); ++i)
          if (i >= st.conditions.size() || truthy(eval(*st.conditions[i]))) return exec(st.bodies[i], out);
        break;
      case Stmt::Kind::For:
        exec_for(st, out);
        break;
      case Stmt::Kind::Set:
        assign(st, eval(*st.expr));
        break;
      case Stmt::Kind::SetBlock: {
        std::string captured;
        exec(st.bodies[0], captured);
        scopes_.back()[st.targets[0]] = Value::string(std::move(captured));
        break;
      }
      case Stmt::Kind::Macro:
        scopes_.back()[st.text] = make_macro(st);
        break;
      case Stmt::Kind::CallBlock: {
        const Body* body = &st.bodies[0];
        pending_caller_ = Value::function([this, body](Args&) {
          std::string text;
          exec(*body, text);
          return Value::string(std::move(text));
        });
        write(out, to_str(eval(*st.expr)), st.line);
        pending_caller_ = Value::undefined();
        break;
      }
      case Stmt::Kind::FilterBlock: {
        std::string text;
        exec(st.bodies[0], text);
        scopes_.emplace_back();
        scopes_.back()["__filter_body__"] = Value::string(std::move(text));
        const Value v = eval(*st.expr);
        scopes_.pop_back();
        write(out, to_str(v), st.line);
        break;
      }
      case Stmt::Kind::Break:
        return Flow::Break;
      case Stmt::Kind::Continue:
        return Flow::Continue;
      case Stmt::Kind::Scope:
        return exec(st.bodies[0], out);
    }
    return Flow::Normal;
  }

  static void write(std::string& out, const std::string& text, int line) {
    if (out.size() + text.size() > kMaxOutputBytes) fail("the template's output exceeds 64 MiB", line);
    out += text;
  }

  void bind(Scope& scope, const std::vector<std::string>& names, const Value& v, int line) {
    if (names.size() == 1) {
      scope[names[0]] = v;
      return;
    }
    if (!v.is_array() || v.a->size() != names.size())
      fail("cannot unpack " + type_name(v) + " into " + std::to_string(names.size()) + " names", line);
    for (size_t i = 0; i < names.size(); ++i) scope[names[i]] = (*v.a)[i];
  }

  void assign(const Stmt& st, const Value& v) {
    if (st.attr.empty()) return bind(scopes_.back(), st.targets, v, st.line);
    const Value ns = lookup(st.targets[0]);
    if (!ns.is_object() || !ns.o->is_namespace)
      fail("cannot assign attribute '" + st.attr + "' of " + type_name(ns) + " (only namespace() objects)",
           st.line);
    // Namespaces are the only mutable values: one stored inside itself would be a cycle (endless printing,
    // leaked memory).
    if (reaches(v, ns.o.get(), 0)) fail("a namespace cannot contain itself", st.line);
    ns.o->set(st.attr, v);
  }

  static bool reaches(const Value& v, const Object* target, int depth) {
    if (depth > 64) return true;  // deeper than any template builds: refused as if cyclic
    if (v.is_object()) {
      if (v.o.get() == target) return true;
      for (const auto& kv : v.o->items)
        if (reaches(kv.second, target, depth + 1)) return true;
    } else if (v.is_array()) {
      for (const Value& x : *v.a)
        if (reaches(x, target, depth + 1)) return true;
    }
    return false;
  }

  void exec_for(const Stmt& st, std::string& out) {
    std::vector<Value> items = iterate(eval(*st.expr), st.line);
    if (st.cond) {
      std::vector<Value> kept;
      for (const Value& item : items) {
        step(st.line);
        scopes_.emplace_back();
        bind(scopes_.back(), st.targets, item, st.line);
        const bool keep = truthy(eval(*st.cond));
        scopes_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      if (st.bodies.size() > 1) exec(st.bodies[1], out);
      return;
    }
    const int64_t n = int64_t(items.size());
    for (int64_t i = 0; i < n; ++i) {
      step(st.line);
      auto loop = std::make_shared<Object>();
      loop->set("index", Value::integer(i + 1));
      loop->set("index0", Value::integer(i));
      loop->set("revindex", Value::integer(n - i));
      loop->set("revindex0", Value::integer(n - i - 1));
      loop->set("first", Value::boolean(i == 0));
      loop->set("last", Value::boolean(i == n - 1));
      loop->set("length", Value::integer(n));
      loop->set("depth", Value::integer(1));
      loop->set("depth0", Value::integer(0));
      loop->set("previtem", i > 0 ? items[size_t(i - 1)] : Value::undefined("loop.previtem"));
      loop->set("nextitem", i + 1 < n ? items[size_t(i + 1)] : Value::undefined("loop.nextitem"));
      loop->set("cycle", Value::function([i](Args& args) {
                  if (args.positional.empty()) fail("loop.cycle() needs arguments", args.line);
                  return args.positional[size_t(i) % args.positional.size()];
                }));
      scopes_.emplace_back();
      bind(scopes_.back(), st.targets, items[size_t(i)], st.line);
      scopes_.back()["loop"] = Value::object(loop);
      const Flow f = exec(st.bodies[0], out);
      scopes_.pop_back();
      if (f == Flow::Break) break;
    }
  }

  Value make_macro(const Stmt& st) {
    const Stmt* m = &st;
    return Value::function([this, m](Args& args) {
      if (++depth_ > kMaxCallDepth) fail("macro calls nested deeper than 100 (recursion?)", m->line);
      if (args.positional.size() > m->targets.size())
        fail("macro '" + m->text + "' takes " + std::to_string(m->targets.size()) + " arguments", args.line);
      std::vector<Scope> saved(scopes_.begin() + 2, scopes_.end());
      scopes_.resize(2);
      scopes_.emplace_back();
      if (!pending_caller_.is_undefined()) scopes_.back()["caller"] = pending_caller_;
      for (size_t p = 0; p < m->targets.size(); ++p) {
        Value v = args.get(p, m->targets[p]);
        if (v.is_undefined() && m->defaults[p]) v = eval(*m->defaults[p]);
        scopes_.back()[m->targets[p]] = v;
      }
      for (const auto& [k, v] : args.keyword) {
        bool known = false;
        for (const auto& t : m->targets) known = known || t == k;
        if (!known) fail("macro '" + m->text + "' has no parameter '" + k + "'", args.line);
      }
      std::string text;
      exec(m->bodies[0], text);
      scopes_.resize(2);
      scopes_.insert(scopes_.end(), saved.begin(), saved.end());
      --depth_;
      return Value::string(std::move(text));
    });
  }

  Args eval_args(const Expr& e) {
    Args args;
    args.line = e.line;
    for (const auto& x : e.operands) args.positional.push_back(eval(*x));
    for (const auto& k : e.keywords) args.keyword.emplace_back(k.name, eval(*k.value));
    return args;
  }

  Value eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::Const:
        return e.value;
      case Expr::Kind::Name:
        return lookup(e.name);
      case Expr::Kind::Getattr:
        return get_attr(eval(*e.a), e.name, e.line);
      case Expr::Kind::Getitem:
        return get_item(eval(*e.a), eval(*e.b), e.line);
      case Expr::Kind::Slice:
        return slice(e);
      case Expr::Kind::Call: {
        const Value fn = eval(*e.a);
        if (fn.kind != Value::Kind::Function) fail("'" + describe_callee(*e.a) + "' is not callable", e.line);
        Args args = eval_args(e);
        return (*fn.fn)(args);
      }
      case Expr::Kind::Filter: {
        const Value v = eval(*e.a);
        Args args = eval_args(e);
        return apply_filter(e.name, v, args);
      }
      case Expr::Kind::Test: {
        const Value v = eval(*e.a);
        Args args = eval_args(e);
        return Value::boolean(apply_test(e.name, v, args) != e.negated);
      }
      case Expr::Kind::Neg:
      case Expr::Kind::Pos: {
        const Value v = eval(*e.a);
        if (!v.is_number())
          fail("bad operand type for unary " + std::string(e.kind == Expr::Kind::Neg ? "-" : "+") + ": " +
                   type_name(v),
               e.line);
        if (e.kind == Expr::Kind::Pos) return v;
        if (v.kind == Value::Kind::Float) return Value::number(-v.f);
        const int64_t n = v.kind == Value::Kind::Bool ? int64_t(v.b) : v.i;
        if (n == INT64_MIN) fail("integer overflow in unary - (beyond 64 bits)", e.line);
        return Value::integer(-n);
      }
      case Expr::Kind::Not:
        return Value::boolean(!truthy(eval(*e.a)));
      case Expr::Kind::Binary:
        return binary(e);
      case Expr::Kind::Compare: {
        Value left = eval(*e.a);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.operands[i]);
          if (!compare_op(e.ops[i], left, right, e.line)) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case Expr::Kind::Concat: {
        std::string s;
        for (const auto& x : e.operands) {
          s += to_str(eval(*x));
          if (s.size() > kMaxOutputBytes) fail("a string above 64 MiB", e.line);
        }
        return Value::string(std::move(s));
      }
      case Expr::Kind::Cond:
        if (truthy(eval(*e.a))) return eval(*e.b);
        return e.c ? eval(*e.c) : Value::undefined();
      case Expr::Kind::List:
      case Expr::Kind::Tuple: {
        Array items;
        for (const auto& x : e.operands) items.push_back(eval(*x));
        return Value::array(std::move(items), e.kind == Expr::Kind::Tuple);
      }
      case Expr::Kind::Dict: {
        auto o = std::make_shared<Object>();
        for (size_t i = 0; i + 1 < e.operands.size(); i += 2) {
          const Value k = eval(*e.operands[i]);
          if (!k.is_string()) fail("dict keys must be strings here, not " + type_name(k), e.line);
          o->set(k.s, eval(*e.operands[i + 1]));
        }
        return Value::object(std::move(o));
      }
    }
    return Value::undefined();
  }

  static std::string describe_callee(const Expr& e) {
    if (e.kind == Expr::Kind::Name || e.kind == Expr::Kind::Getattr) return e.name;
    return "expression";
  }

  static Value get_attr(const Value& obj, const std::string& name, int line) {
    if (obj.is_undefined())
      fail("'" + (obj.s.empty() ? std::string("value") : obj.s) + "' is undefined (reading ." + name + ")",
           line);
    if (obj.is_object()) {
      if (!obj.o->is_namespace) {
        const Value m = method(obj, name, line);
        if (!m.is_undefined()) return m;
      }
      if (const Value* v = obj.o->find(name)) return *v;
      return Value::undefined(name);
    }
    return method(obj, name, line);
  }

  static Value get_item(const Value& obj, const Value& key, int line) {
    if (obj.is_undefined())
      fail("'" + (obj.s.empty() ? std::string("value") : obj.s) + "' is undefined (reading [" + to_repr(key) +
               "])",
           line);
    if (obj.is_object() && key.is_string()) {
      if (const Value* v = obj.o->find(key.s)) return *v;
      return method(obj, key.s, line);
    }
    if ((obj.is_array() || obj.is_string()) &&
        (key.kind == Value::Kind::Int || key.kind == Value::Kind::Bool)) {
      const std::vector<Value> items = obj.is_array() ? *obj.a : iterate(obj, line);
      int64_t i = key.kind == Value::Kind::Bool ? key.b : key.i;
      if (i < 0) i += int64_t(items.size());
      if (i < 0 || i >= int64_t(items.size())) return Value::undefined();
      return items[size_t(i)];
    }
    if (key.is_string()) return method(obj, key.s, line);
    return Value::undefined();
  }

  Value slice(const Expr& e) {
    const Value obj = eval(*e.a);
    if (!obj.is_array() && !obj.is_string()) fail("cannot slice " + type_name(obj), e.line);
    const std::vector<Value> items = obj.is_array() ? *obj.a : iterate(obj, e.line);
    const int64_t n = int64_t(items.size());
    auto part = [&](const ExprPtr& x) -> std::optional<int64_t> {
      if (!x) return std::nullopt;
      const Value v = eval(*x);
      if (v.is_none()) return std::nullopt;
      if (v.kind != Value::Kind::Int) fail("slice indices must be integers", e.line);
      return v.i;
    };
    const int64_t step = part(e.d).value_or(1);
    if (step == 0) fail("slice step cannot be zero", e.line);
    // Python's slice.indices().
    auto clamp = [&](std::optional<int64_t> x, int64_t dflt) {
      if (!x) return dflt;
      int64_t v = *x < 0 ? *x + n : *x;
      if (step > 0) return std::clamp<int64_t>(v, 0, n);
      return std::clamp<int64_t>(v, -1, n - 1);
    };
    const int64_t start = clamp(part(e.b), step > 0 ? 0 : n - 1), stop = clamp(part(e.c), step > 0 ? n : -1);
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(items[size_t(i)]);
    if (obj.is_array()) return Value::array(std::move(out));
    std::string s;
    for (const Value& c : out) s += c.s;
    return Value::string(std::move(s));
  }

  Value binary(const Expr& e) {
    if (e.name == "and") {
      Value l = eval(*e.a);
      return truthy(l) ? eval(*e.b) : l;
    }
    if (e.name == "or") {
      Value l = eval(*e.a);
      return truthy(l) ? l : eval(*e.b);
    }
    const Value l = eval(*e.a), r = eval(*e.b);
    const std::string& op = e.name;
    if (op == "+" && l.is_string() && r.is_string()) {
      if (l.s.size() + r.s.size() > kMaxOutputBytes) fail("a string above 64 MiB", e.line);
      return Value::string(l.s + r.s);
    }
    if (op == "+" && l.is_array() && r.is_array()) {
      if (l.a->size() + r.a->size() > kMaxItems) fail("a list above 2^22 items", e.line);
      Array items = *l.a;
      items.insert(items.end(), r.a->begin(), r.a->end());
      return Value::array(std::move(items));
    }
    if (op == "*" && (l.is_string() || r.is_string()) &&
        (l.kind == Value::Kind::Int || r.kind == Value::Kind::Int)) {
      const Value& s = l.is_string() ? l : r;
      const int64_t n = l.is_string() ? r.i : l.i;
      if (n > 0 && s.s.size() * size_t(n) > kMaxOutputBytes) fail("string repetition too large", e.line);
      std::string out;
      for (int64_t i = 0; i < n; ++i) out += s.s;
      return Value::string(std::move(out));
    }
    if (!l.is_number() || !r.is_number())
      fail("unsupported operand types for " + op + ": " + type_name(l) + " and " + type_name(r), e.line);
    const bool ints = l.kind != Value::Kind::Float && r.kind != Value::Kind::Float;
    const double x = l.as_double(), y = r.as_double();
    auto whole = [](const Value& v) { return v.kind == Value::Kind::Bool ? int64_t(v.b) : v.i; };
    const int64_t a = ints ? whole(l) : 0, b = ints ? whole(r) : 0;
    // Python's integers never overflow; ours are 64-bit and say so instead of wrapping.
    int64_t v = 0;  // the result of the overflow builtins, read by `checked` after they ran
    auto checked = [&](bool overflowed) {
      if (overflowed) fail("integer overflow in " + op + " (beyond 64 bits)", e.line);
      return Value::integer(v);
    };
    if (op == "/") {
      if (y == 0) fail("division by zero", e.line);
      return Value::number(x / y);
    }
    if (op == "//" || op == "%") {
      if (y == 0) fail("division by zero", e.line);
      if (ints) {
        if (a == INT64_MIN && b == -1) fail("integer overflow in " + op + " (beyond 64 bits)", e.line);
        int64_t q = a / b, m = a % b;
        if (m != 0 && ((m < 0) != (b < 0))) --q, m += b;  // Python floors
        return Value::integer(op == "//" ? q : m);
      }
      const double q = std::floor(x / y);
      return Value::number(op == "//" ? q : x - q * y);
    }
    if (op == "+") return ints ? checked(__builtin_add_overflow(a, b, &v)) : Value::number(x + y);
    if (op == "-") return ints ? checked(__builtin_sub_overflow(a, b, &v)) : Value::number(x - y);
    if (op == "*") return ints ? checked(__builtin_mul_overflow(a, b, &v)) : Value::number(x * y);
    if (op == "**") {
      if (ints && b >= 0) {
        int64_t p = 1;
        bool overflowed = false;
        // |a| <= 1 never grows: b can be huge without a long loop.
        for (int64_t i = 0; i < b && !overflowed && (a < -1 || a > 1 || i < 2); ++i)
          overflowed = __builtin_mul_overflow(p, a, &p);
        if (a == -1) p = b % 2 ? -1 : 1;
        if (a == 0) p = b == 0 ? 1 : 0;
        v = p;
        return checked(overflowed);
      }
      return Value::number(std::pow(x, y));
    }
    fail("unknown operator " + op, e.line);
  }

  static bool contains(const Value& container, const Value& item, int line) {
    if (container.is_string()) {
      if (!item.is_string()) fail("'in <string>' needs a string on the left, not " + type_name(item), line);
      return container.s.find(item.s) != std::string::npos;
    }
    if (container.is_object()) return item.is_string() && container.o->find(item.s) != nullptr;
    if (container.is_array()) {
      for (const Value& v : *container.a)
        if (equal(v, item)) return true;
      return false;
    }
    fail("argument of type " + type_name(container) + " is not iterable", line);
  }

  static bool compare_op(const std::string& op, const Value& l, const Value& r, int line) {
    if (op == "==") return equal(l, r);
    if (op == "!=") return !equal(l, r);
    if (op == "in") return contains(r, l, line);
    if (op == "not in") return !contains(r, l, line);
    const int c = compare(l, r, line);
    if (op == "<") return c < 0;
    if (op == ">") return c > 0;
    if (op == "<=") return c <= 0;
    return c >= 0;
  }

  std::vector<Scope> scopes_;
  Value pending_caller_;
  int depth_ = 0;
  uint64_t steps_ = 0;
};

void check_expr(const Expr* e) {
  if (!e) return;
  if (e->kind == Expr::Kind::Filter && !has_filter(e->name))
    fail("unsupported filter '" + e->name + "'", e->line);
  if (e->kind == Expr::Kind::Test && !has_test(e->name)) fail("unsupported test '" + e->name + "'", e->line);
  for (const Expr* x : {e->a.get(), e->b.get(), e->c.get(), e->d.get()}) check_expr(x);
  for (const auto& x : e->operands) check_expr(x.get());
  for (const auto& k : e->keywords) check_expr(k.value.get());
}

}  // namespace

void check_supported(const Body& body) {
  for (const auto& st : body) {
    check_expr(st->expr.get());
    check_expr(st->cond.get());
    for (const auto& c : st->conditions) check_expr(c.get());
    for (const auto& d : st->defaults) check_expr(d.get());
    for (const auto& b : st->bodies) check_supported(b);
  }
}

std::string render(const Body& body, const Value& context) {
  return Interpreter(context).run(body);
}

}  // namespace tern::jinja
