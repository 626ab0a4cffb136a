// Jinja's grammar, with its operator precedence (loosest first): `x if c else y`, or, and, not, comparisons
// (== != < > <= >= in, not in), + -, ~, * / // %, **, unary - +, then postfix .attr [item] (call), filters
// `|` and tests `is`.
#include <algorithm>

#include "ast.h"
#include "lexer.h"

namespace tern::jinja {
namespace {

class TokenStream {
 public:
  explicit TokenStream(const std::vector<Token>& t) : t_(t) {}
  const Token& peek(size_t ahead = 0) const { return t_[std::min(pos_ + ahead, t_.size() - 1)]; }
  const Token& next() { return t_[std::min(pos_++, t_.size() - 1)]; }
  bool at_end() const { return peek().kind == Token::Kind::End; }
  bool is_op(const char* op, size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::Op && peek(ahead).text == op;
  }
  bool is_name(const char* name, size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::Name && peek(ahead).text == name;
  }
  bool skip_op(const char* op) { return is_op(op) && (next(), true); }
  bool skip_name(const char* name) { return is_name(name) && (next(), true); }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', got " + describe(peek()), peek().line);
  }
  std::string expect_name() {
    if (peek().kind != Token::Kind::Name) fail("expected a name, got " + describe(peek()), peek().line);
    return next().text;
  }
  void expect_end() {
    if (!at_end()) fail("unexpected " + describe(peek()), peek().line);
  }
  static std::string describe(const Token& t) {
    return t.kind == Token::Kind::End ? "the end of the tag" : "'" + t.text + "'";
  }

 private:
  const std::vector<Token>& t_;
  size_t pos_ = 0;
};

ExprPtr node(Expr::Kind k, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = k;
  e->line = line;
  return e;
}

class ExprParser {
 public:
  explicit ExprParser(TokenStream& s) : s_(s) {}

  ExprPtr expression() {
    // Nesting bound: parentheses a thousand deep must be an error, not a stack overflow.
    struct Depth {
      int& d;
      explicit Depth(int& x, int line) : d(x) {
        if (++d > 64) fail("expression nested deeper than 64", line);
      }
      ~Depth() { --d; }
    } guard(depth_, s_.peek().line);
    ExprPtr e = or_expr();
    while (s_.is_name("if")) {
      const int line = s_.next().line;
      auto c = node(Expr::Kind::Cond, line);
      c->a = or_expr();
      c->b = std::move(e);
      if (s_.skip_name("else")) c->c = expression();
      e = std::move(c);
    }
    return e;
  }
  // An expression or an unparenthesized tuple (a, b), as `for` and `set` allow.
  ExprPtr tuple_or_expression() {
    ExprPtr first = expression();
    if (!s_.is_op(",")) return first;
    auto t = node(Expr::Kind::Tuple, first->line);
    t->operands.push_back(std::move(first));
    while (s_.skip_op(",") && !s_.at_end()) t->operands.push_back(expression());
    return t;
  }
  // The iterable of a for loop: no `x if c else y` there, as its `if` filters the items.
  ExprPtr tuple_or_expression_no_cond() {
    ExprPtr first = or_expr();
    if (!s_.is_op(",")) return first;
    auto t = node(Expr::Kind::Tuple, first->line);
    t->operands.push_back(std::move(first));
    while (s_.skip_op(",") && !s_.at_end() && !s_.is_name("if")) t->operands.push_back(or_expr());
    return t;
  }
  ExprPtr or_expr() { return binary_chain(&ExprParser::and_expr, {"or"}, true); }
  ExprPtr and_expr() { return binary_chain(&ExprParser::not_expr, {"and"}, true); }
  ExprPtr not_expr() {
    if (s_.is_name("not") && ++nots_ > 256) fail("too many 'not's", s_.peek().line);
    if (s_.is_name("not")) {
      auto n = node(Expr::Kind::Not, s_.next().line);
      n->a = not_expr();
      return n;
    }
    return compare();
  }

 private:
  ExprPtr binary_chain(ExprPtr (ExprParser::*sub)(), std::initializer_list<const char*> ops, bool names) {
    ExprPtr left = (this->*sub)();
    while (true) {
      const char* found = nullptr;
      for (const char* op : ops)
        if (names ? s_.is_name(op) : s_.is_op(op)) found = op;
      if (!found) return left;
      auto b = node(Expr::Kind::Binary, s_.next().line);
      b->name = found;
      b->a = std::move(left);
      b->b = (this->*sub)();
      left = std::move(b);
    }
  }
  ExprPtr compare() {
    ExprPtr first = math1();
    auto c = node(Expr::Kind::Compare, first->line);
    while (true) {
      std::string op;
      if (s_.peek().kind == Token::Kind::Op) {
        const std::string& t = s_.peek().text;
        if (t == "==" || t == "!=" || t == "<" || t == ">" || t == "<=" || t == ">=") op = t;
      }
      if (!op.empty()) {
        s_.next();
      } else if (s_.is_name("in")) {
        s_.next();
        op = "in";
      } else if (s_.is_name("not") && s_.is_name("in", 1)) {
        s_.next();
        s_.next();
        op = "not in";
      } else {
        break;
      }
      c->ops.push_back(op);
      c->operands.push_back(math1());
    }
    if (c->ops.empty()) return first;
    c->a = std::move(first);
    return c;
  }
  ExprPtr math1() { return binary_chain(&ExprParser::concat, {"+", "-"}, false); }
  ExprPtr concat() {
    ExprPtr first = math2();
    if (!s_.is_op("~")) return first;
    auto c = node(Expr::Kind::Concat, first->line);
    c->operands.push_back(std::move(first));
    while (s_.skip_op("~")) c->operands.push_back(math2());
    return c;
  }
  ExprPtr math2() { return binary_chain(&ExprParser::power, {"*", "/", "//", "%"}, false); }
  ExprPtr power() { return binary_chain(&ExprParser::unary_with_filters, {"**"}, false); }
  ExprPtr unary_with_filters() { return unary(true); }
  ExprPtr unary(bool with_filters) {
    ExprPtr e;
    if (s_.is_op("-") || s_.is_op("+")) {
      const bool neg = s_.peek().text == "-";
      if (++unaries_ > 256) fail("too many unary operators", s_.peek().line);
      e = node(neg ? Expr::Kind::Neg : Expr::Kind::Pos, s_.next().line);
      e->a = unary(false);
    } else {
      e = primary();
    }
    e = postfix(std::move(e));
    return with_filters ? filters(std::move(e)) : std::move(e);
  }
  ExprPtr primary() {
    const Token& t = s_.peek();
    const int line = t.line;
    if (t.kind == Token::Kind::Name) {
      const std::string name = s_.next().text;
      if (name == "true" || name == "True" || name == "false" || name == "False") {
        auto c = node(Expr::Kind::Const, line);
        c->value = Value::boolean(name == "true" || name == "True");
        return c;
      }
      if (name == "none" || name == "None") {
        auto c = node(Expr::Kind::Const, line);
        c->value = Value::none();
        return c;
      }
      auto n = node(Expr::Kind::Name, line);
      n->name = name;
      return n;
    }
    if (t.kind == Token::Kind::String) {
      std::string text;
      while (s_.peek().kind == Token::Kind::String) text += s_.next().text;  // adjacent literals join
      auto c = node(Expr::Kind::Const, line);
      c->value = Value::string(std::move(text));
      return c;
    }
    if (t.kind == Token::Kind::Int || t.kind == Token::Kind::Float) {
      auto c = node(Expr::Kind::Const, line);
      const std::string text = s_.next().text;
      try {
        c->value =
            t.kind == Token::Kind::Int ? Value::integer(std::stoll(text)) : Value::number(std::stod(text));
      } catch (const std::exception&) {
        fail("number out of range: " + text, line);
      }
      return c;
    }
    if (s_.skip_op("(")) {
      if (s_.skip_op(")")) return node(Expr::Kind::Tuple, line);
      ExprPtr first = expression();
      if (s_.skip_op(")")) return first;
      auto tuple = node(Expr::Kind::Tuple, line);
      tuple->operands.push_back(std::move(first));
      while (s_.skip_op(",") && !s_.is_op(")")) tuple->operands.push_back(expression());
      s_.expect_op(")");
      return tuple;
    }
    if (s_.skip_op("[")) {
      auto list = node(Expr::Kind::List, line);
      while (!s_.is_op("]")) {
        if (!list->operands.empty()) s_.expect_op(",");
        if (s_.is_op("]")) break;
        list->operands.push_back(expression());
      }
      s_.expect_op("]");
      return list;
    }
    if (s_.skip_op("{")) {
      auto dict = node(Expr::Kind::Dict, line);
      while (!s_.is_op("}")) {
        if (!dict->operands.empty()) s_.expect_op(",");
        if (s_.is_op("}")) break;
        dict->operands.push_back(expression());
        s_.expect_op(":");
        dict->operands.push_back(expression());
      }
      s_.expect_op("}");
      return dict;
    }
    fail("unexpected " + TokenStream::describe(t), line);
  }
  ExprPtr postfix(ExprPtr e) {
    while (true) {
      if (s_.is_op(".")) {
        const int line = s_.next().line;
        if (s_.peek().kind == Token::Kind::Int) {
          auto g = node(Expr::Kind::Getitem, line);
          g->a = std::move(e);
          g->b = node(Expr::Kind::Const, line);
          const std::string digits = s_.next().text;
          if (digits.size() > 18) fail("index out of range: " + digits, line);
          g->b->value = Value::integer(std::stoll(digits));
          e = std::move(g);
          continue;
        }
        auto g = node(Expr::Kind::Getattr, line);
        g->a = std::move(e);
        g->name = s_.expect_name();
        e = std::move(g);
      } else if (s_.is_op("[")) {
        e = subscript(std::move(e));
      } else if (s_.is_op("(")) {
        e = call(std::move(e));
      } else {
        return e;
      }
    }
  }
  ExprPtr subscript(ExprPtr target) {
    const int line = s_.next().line;
    ExprPtr parts[3];
    int colons = 0;
    if (!s_.is_op(":")) parts[0] = expression();
    while (colons < 2 && s_.skip_op(":")) {
      ++colons;
      if (!s_.is_op(":") && !s_.is_op("]")) parts[colons] = expression();
    }
    s_.expect_op("]");
    auto g = node(colons ? Expr::Kind::Slice : Expr::Kind::Getitem, line);
    g->a = std::move(target);
    g->b = std::move(parts[0]);
    g->c = std::move(parts[1]);
    g->d = std::move(parts[2]);
    if (!colons && !g->b) fail("empty subscript", line);
    return g;
  }
  void call_args(Expr& e) {
    s_.expect_op("(");
    while (!s_.is_op(")")) {
      if (!e.operands.empty() || !e.keywords.empty()) {
        s_.expect_op(",");
        if (s_.is_op(")")) break;
      }
      if (s_.is_op("*") || s_.is_op("**"))
        fail("*args / **kwargs in calls are not supported", s_.peek().line);
      if (s_.peek().kind == Token::Kind::Name && s_.is_op("=", 1)) {
        std::string name = s_.next().text;
        s_.next();
        e.keywords.push_back({std::move(name), expression()});
      } else {
        if (!e.keywords.empty()) fail("a positional argument after a keyword argument", s_.peek().line);
        e.operands.push_back(expression());
      }
    }
    s_.expect_op(")");
  }
  ExprPtr call(ExprPtr fn) {
    auto c = node(Expr::Kind::Call, s_.peek().line);
    c->a = std::move(fn);
    call_args(*c);
    return c;
  }
  ExprPtr filters(ExprPtr e) {
    while (true) {
      if (s_.skip_op("|")) {
        auto f = node(Expr::Kind::Filter, s_.peek().line);
        f->a = std::move(e);
        f->name = s_.expect_name();
        if (s_.is_op("(")) call_args(*f);
        e = std::move(f);
      } else if (s_.is_name("is")) {
        auto t = node(Expr::Kind::Test, s_.next().line);
        t->negated = s_.skip_name("not");
        t->a = std::move(e);
        t->name = s_.expect_name();
        if (s_.is_op("(")) {
          call_args(*t);
        } else {
          const Token& p = s_.peek();
          const bool arg = p.kind == Token::Kind::String || p.kind == Token::Kind::Int ||
                           p.kind == Token::Kind::Float || s_.is_op("[") || s_.is_op("{") || s_.is_op("(") ||
                           (p.kind == Token::Kind::Name && p.text != "else" && p.text != "or" &&
                            p.text != "and" && p.text != "if" && p.text != "is");
          if (arg) t->operands.push_back(postfix(primary()));
        }
        e = std::move(t);
      } else if (s_.is_op("(")) {
        e = call(std::move(e));
      } else {
        return e;
      }
    }
  }

  TokenStream& s_;
  int depth_ = 0, nots_ = 0, unaries_ = 0;
};

// Statements, from the segments; nesting is checked against the closing tags.
class StmtParser {
 public:
  explicit StmtParser(const std::vector<Segment>& segs) : segs_(segs) {}

  Body parse_all() {
    Body body = parse_until({});
    if (pos_ < segs_.size()) fail("unexpected {% " + segs_[pos_].tokens[0].text + " %}", segs_[pos_].line);
    return body;
  }

 private:
  // Statements until a block tag whose first word is in `ends` (left unconsumed), or the end.
  Body parse_until(const std::vector<std::string>& ends) {
    Body body;
    while (pos_ < segs_.size()) {
      const Segment& seg = segs_[pos_];
      if (seg.kind == Segment::Kind::Text) {
        auto st = stmt(Stmt::Kind::Text, seg.line);
        st->text = seg.text;
        body.push_back(std::move(st));
        ++pos_;
        continue;
      }
      TokenStream s(seg.tokens);
      if (seg.kind == Segment::Kind::Print) {
        auto st = stmt(Stmt::Kind::Print, seg.line);
        st->expr = ExprParser(s).expression();
        s.expect_end();
        body.push_back(std::move(st));
        ++pos_;
        continue;
      }
      if (s.at_end()) fail("empty {% %} tag", seg.line);
      const std::string word = s.peek().text;
      if (std::find(ends.begin(), ends.end(), word) != ends.end()) return body;
      ++pos_;
      s.next();
      body.push_back(block(word, s, seg.line));
    }
    if (!ends.empty()) fail("missing {% " + ends.front() + " %}", segs_.empty() ? 0 : segs_.back().line);
    return body;
  }
  std::unique_ptr<Stmt> stmt(Stmt::Kind k, int line) {
    auto st = std::make_unique<Stmt>();
    st->kind = k;
    st->line = line;
    return st;
  }
  // The tag at pos_ (first word `word`, known to be there): consumes it and checks nothing follows.
  void close(const char* word) {
    TokenStream s(segs_[pos_].tokens);
    s.next();
    s.expect_end();
    ++pos_;
    (void)word;
  }
  const std::string& next_word() const { return segs_[pos_].tokens[0].text; }

  std::unique_ptr<Stmt> block(const std::string& word, TokenStream& s, int line) {
    struct Depth {
      int& d;
      explicit Depth(int& x, int line) : d(x) {
        if (++d > 64) fail("blocks nested deeper than 64", line);
      }
      ~Depth() { --d; }
    } guard(depth_, line);
    ExprParser ep(s);
    if (word == "if") {
      auto st = stmt(Stmt::Kind::If, line);
      st->conditions.push_back(ep.expression());
      s.expect_end();
      while (true) {
        st->bodies.push_back(parse_until({"endif", "elif", "else"}));
        const std::string w = next_word();
        if (w == "endif") break;
        TokenStream t(segs_[pos_++].tokens);
        t.next();
        if (w == "elif") {
          st->conditions.push_back(ExprParser(t).expression());
          t.expect_end();
        } else {
          t.expect_end();
          st->bodies.push_back(parse_until({"endif"}));
          break;
        }
      }
      close("endif");
      return st;
    }
    if (word == "for") {
      auto st = stmt(Stmt::Kind::For, line);
      do st->targets.push_back(s.expect_name());
      while (s.skip_op(","));
      if (!s.skip_name("in")) fail("expected 'in' in the for tag", line);
      st->expr = ep.tuple_or_expression_no_cond();
      if (s.skip_name("if")) st->cond = ep.expression();
      if (s.skip_name("recursive")) fail("recursive for loops are not supported", line);
      s.expect_end();
      st->bodies.push_back(parse_until({"endfor", "else"}));
      if (next_word() == "else") {
        close("else");
        st->bodies.push_back(parse_until({"endfor"}));
      }
      close("endfor");
      return st;
    }
    if (word == "set") {
      std::string first = s.expect_name();
      std::string attr;
      if (s.skip_op(".")) attr = s.expect_name();
      std::vector<std::string> names{first};
      while (attr.empty() && s.skip_op(",")) names.push_back(s.expect_name());
      if (s.at_end()) {
        if (!attr.empty() || names.size() > 1) fail("a {% set %} block takes one name", line);
        auto st = stmt(Stmt::Kind::SetBlock, line);
        st->targets = names;
        st->bodies.push_back(parse_until({"endset"}));
        close("endset");
        return st;
      }
      s.expect_op("=");
      auto st = stmt(Stmt::Kind::Set, line);
      st->targets = names;
      st->attr = attr;
      st->expr = ep.tuple_or_expression();
      s.expect_end();
      return st;
    }
    if (word == "macro") {
      auto st = stmt(Stmt::Kind::Macro, line);
      st->text = s.expect_name();
      s.expect_op("(");
      while (!s.is_op(")")) {
        if (!st->targets.empty()) s.expect_op(",");
        st->targets.push_back(s.expect_name());
        st->defaults.push_back(s.skip_op("=") ? ep.expression() : nullptr);
      }
      s.expect_op(")");
      s.expect_end();
      st->bodies.push_back(parse_until({"endmacro"}));
      close("endmacro");
      return st;
    }
    if (word == "call" || word == "filter") {
      auto st = stmt(word == "call" ? Stmt::Kind::CallBlock : Stmt::Kind::FilterBlock, line);
      if (word == "call" && s.is_op("(")) fail("{% call %} with caller arguments is not supported", line);
      st->expr = word == "call" ? ep.expression() : filter_chain(s);
      s.expect_end();
      st->bodies.push_back(parse_until({"end" + word}));
      close(word == "call" ? "endcall" : "endfilter");
      return st;
    }
    if (word == "break" || word == "continue") {
      s.expect_end();
      return stmt(word == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, line);
    }
    if (word == "generation") {  // transformers' AssistantTracker: renders its body unchanged
      s.expect_end();
      auto st = stmt(Stmt::Kind::Scope, line);
      st->bodies.push_back(parse_until({"endgeneration"}));
      close("endgeneration");
      return st;
    }
    fail("unsupported tag '{% " + word + " %}'", line);
  }
  // `{% filter upper %}`: a filter applied to a placeholder the interpreter fills with the body's text.
  ExprPtr filter_chain(TokenStream& s) {
    std::vector<Token> tokens{Token{Token::Kind::Name, "__filter_body__", s.peek().line},
                              Token{Token::Kind::Op, "|", s.peek().line}};
    while (!s.at_end()) tokens.push_back(s.next());
    tokens.push_back(Token{});
    filter_tokens_.push_back(std::move(tokens));
    TokenStream t(filter_tokens_.back());
    return ExprParser(t).expression();
  }

  const std::vector<Segment>& segs_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::vector<std::vector<Token>> filter_tokens_;
};

}  // namespace

Body parse_template(const std::string& source) {
  const std::vector<Segment> segs = split_template(source);
  return StmtParser(segs).parse_all();
}

}  // namespace tern::jinja
