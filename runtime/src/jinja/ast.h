#pragma once
// The syntax tree of a Jinja template, as tern's parser builds it (parser.cpp) and its interpreter runs it
// (interpreter.cpp).
#include <memory>
#include <string>
#include <vector>

#include "value.h"

namespace tern::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Keyword {
  std::string name;
  ExprPtr value;
};

struct Expr {
  enum class Kind {
    Const,    // value
    Name,     // name
    Getattr,  // a.name
    Getitem,  // a[b]
    Slice,    // a[b:c:d]; absent parts are null
    Call,     // a(args, keywords)
    Filter,   // a | name(args, keywords)
    Test,     // a is [not] name(args)
    Neg,
    Pos,
    Not,
    Binary,   // op in {+, -, *, /, //, %, **, and, or}
    Compare,  // a op1 b op2 c ...: ops and operands
    Concat,   // a ~ b ~ ...: operands
    Cond,     // b if a else c (c may be null)
    List,
    Tuple,
    Dict,  // operands: key, value, key, value...
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;  // Name, Getattr, Filter, Test; Binary's operator
  bool negated = false;
  ExprPtr a, b, c, d;
  std::vector<ExprPtr> operands;  // arguments, items, compared operands
  std::vector<std::string> ops;   // Compare's operators
  std::vector<Keyword> keywords;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    Text,         // text
    Print,        // {{ expr }}
    If,           // conditions[i] -> bodies[i]; a last body without condition is the else
    For,          // for targets in expr [if cond]: bodies[0]; bodies[1]: else
    Set,          // targets = expr; or ns.attr = expr (attr set)
    SetBlock,     // {% set target %}bodies[0]{% endset %}
    Macro,        // name(params = defaults): bodies[0]
    CallBlock,    // {% call name(args) %}bodies[0]{% endcall %}: caller() renders the body
    FilterBlock,  // {% filter name(args) %}bodies[0]{% endfilter %}
    Break,
    Continue,
    Scope,  // bodies[0] as is ({% generation %} and the like)
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr, cond;
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  std::vector<std::string> targets;  // For: loop variables; Set: names; Macro: parameter names
  std::string attr;                  // Set: ns.attr
  std::vector<ExprPtr> defaults;     // Macro: per parameter, null when it has none
};

// Parses a template with the settings Hugging Face renders chat templates with (trim_blocks, lstrip_blocks,
// no trailing newline kept, loop controls). Fails on anything it does not support, naming it and the line.
Body parse_template(const std::string& source);

}  // namespace tern::jinja
