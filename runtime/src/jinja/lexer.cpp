#include "lexer.h"

#include <cctype>
#include <cstring>

#include "value.h"

namespace tern::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | cp >> 6);
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | cp >> 12);
    out += char(0x80 | (cp >> 6 & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | cp >> 18);
    out += char(0x80 | (cp >> 12 & 0x3f));
    out += char(0x80 | (cp >> 6 & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

// A quoted string literal at s[i] (the quote), Python's escapes resolved; i ends past the closing quote.
std::string read_string(const std::string& s, size_t& i, int line) {
  const char quote = s[i++];
  std::string out;
  while (i < s.size() && s[i] != quote) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i++];
      continue;
    }
    const char e = s[i + 1];
    i += 2;
    auto hex = [&](size_t n) {
      if (i + n > s.size()) fail("truncated \\x / \\u escape in a string", line);
      uint32_t cp = 0;
      for (size_t k = i; k < i + n; ++k) {
        if (!std::isxdigit(static_cast<unsigned char>(s[k]))) fail("bad \\x / \\u escape in a string", line);
        cp = cp * 16 +
             uint32_t(std::isdigit(static_cast<unsigned char>(s[k])) ? s[k] - '0' : (s[k] | 0x20) - 'a' + 10);
      }
      if (cp > 0x10ffff) fail("escape beyond U+10FFFF in a string", line);
      i += n;
      append_utf8(out, cp);
    };
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case '\n':
        break;
      case 'x':
        hex(2);
        break;
      case 'u':
        hex(4);
        break;
      case 'U':
        hex(8);
        break;
      default:
        out += '\\';
        out += e;
    }
  }
  if (i >= s.size()) fail("unterminated string", line);
  ++i;
  return out;
}

// Tokens of a tag from s[i] until `close` ("}}" or "%}", optionally preceded by - or +), which is not
// looked for inside strings or brackets' contents of other kinds. i ends at the closing delimiter's first
// character (its sign, if any).
std::vector<Token> read_tag(const std::string& s, size_t& i, const char* close, int& line) {
  static const char* kOps[] = {"**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "[",
                               "]",  "(",  ")",  "{",  "}",  ",",  ".", ":", "|", "=", "<", ">", ";"};
  std::vector<Token> tokens;
  int depth = 0;
  while (true) {
    while (i < s.size() && is_space(s[i])) line += s[i++] == '\n';
    if (i >= s.size()) fail(std::string("unterminated tag: missing '") + close + "'", line);
    if (depth == 0) {
      size_t j = i;
      if (s[j] == '-' || s[j] == '+') ++j;
      if (s.compare(j, 2, close) == 0) break;
    }
    Token t;
    t.line = line;
    const char c = s[i];
    if (c == '\'' || c == '"') {
      t.kind = Token::Kind::String;
      t.text = read_string(s, i, line);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      const size_t start = i;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      t.kind = Token::Kind::Int;
      if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        t.kind = Token::Kind::Float;
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          t.kind = Token::Kind::Float;
          i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      for (size_t k = start; k < i; ++k)
        if (s[k] != '_') t.text += s[k];
    } else if (is_name_start(c)) {
      t.kind = Token::Kind::Name;
      while (i < s.size() && is_name_char(s[i])) t.text += s[i++];
    } else {
      t.kind = Token::Kind::Op;
      for (const char* op : kOps)
        if (s.compare(i, std::strlen(op), op) == 0) {
          t.text = op;
          break;
        }
      if (t.text.empty()) fail(std::string("unexpected character '") + c + "'", line);
      i += t.text.size();
      if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
      if ((t.text == ")" || t.text == "]" || t.text == "}") && depth > 0) --depth;
    }
    tokens.push_back(std::move(t));
  }
  Token end;
  end.line = line;
  tokens.push_back(end);
  return tokens;
}

std::string normalize_newlines(const std::string& src) {
  std::string s;
  s.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      s += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      s += src[i];
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

bool is_raw_tag(const std::vector<Token>& t, const char* word) {
  return t.size() == 2 && t[0].kind == Token::Kind::Name && t[0].text == word;
}

}  // namespace

std::vector<Segment> split_template(const std::string& source) {
  const std::string s = normalize_newlines(source);
  std::vector<Segment> out;
  size_t pos = 0;
  int line = 1;
  bool line_starting = true;  // the last tag's match ended a line (Jinja's lstrip_blocks uses this)
  auto emit_text = [&](std::string text, int at) {
    if (!text.empty()) out.push_back({Segment::Kind::Text, std::move(text), {}, at});
  };
  while (pos < s.size()) {
    size_t open = pos;
    while (open < s.size() && !(s[open] == '{' && open + 1 < s.size() &&
                                (s[open + 1] == '{' || s[open + 1] == '%' || s[open + 1] == '#')))
      ++open;
    std::string text = s.substr(pos, open - pos);
    const int text_line = line;
    for (char c : text) line += c == '\n';
    if (open >= s.size()) {
      emit_text(std::move(text), text_line);
      break;
    }
    const char kind = s[open + 1];
    size_t i = open + 2;
    const char sign = i < s.size() && (s[i] == '-' || s[i] == '+') ? s[i] : 0;
    if (sign) ++i;
    if (sign == '-') {
      size_t e = text.size();
      while (e > 0 && is_space(text[e - 1])) --e;
      text.resize(e);
    } else if (sign != '+' && kind != '{') {      // lstrip_blocks: blocks and comments only
      const size_t l_pos = text.rfind('\n') + 1;  // npos + 1 == 0
      bool blank = true;
      for (size_t k = l_pos; k < text.size(); ++k) blank = blank && is_space(text[k]);
      if ((l_pos > 0 || line_starting) && blank) text.resize(l_pos);
    }
    emit_text(std::move(text), text_line);
    const int tag_line = line;
    bool strip_after = false, keep_newline = false;
    if (kind == '#') {
      const size_t close = s.find("#}", i);
      if (close == std::string::npos) fail("unterminated comment", tag_line);
      for (size_t k = i; k < close; ++k) line += s[k] == '\n';
      strip_after = close > i && s[close - 1] == '-';
      keep_newline = close > i && s[close - 1] == '+';
      pos = close + 2;
    } else {
      const char* close = kind == '{' ? "}}" : "%}";
      std::vector<Token> tokens = read_tag(s, i, close, line);
      strip_after = s[i] == '-';
      keep_newline = s[i] == '+';
      pos = i + (s[i] == '-' || s[i] == '+') + 2;
      if (kind == '%' && is_raw_tag(tokens, "raw")) {
        // Everything up to {% endraw %} is text.
        size_t at = pos;
        while (true) {
          const size_t open_end = s.find("{%", at);
          if (open_end == std::string::npos) fail("{% raw %} without {% endraw %}", tag_line);
          size_t j = open_end + 2;
          if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
          int end_line = line;
          std::vector<Token> end_tokens = read_tag(s, j, "%}", end_line);
          if (!is_raw_tag(end_tokens, "endraw")) {
            at = open_end + 2;
            continue;
          }
          std::string raw = s.substr(pos, open_end - pos);
          if (s[open_end + 2] == '-')
            while (!raw.empty() && is_space(raw.back())) raw.pop_back();
          for (char c : raw) line += c == '\n';
          emit_text(std::move(raw), tag_line);
          strip_after = s[j] == '-';
          keep_newline = s[j] == '+';
          pos = j + (s[j] == '-' || s[j] == '+') + 2;
          break;
        }
      } else {
        out.push_back(
            {kind == '{' ? Segment::Kind::Print : Segment::Kind::Block, "", std::move(tokens), tag_line});
      }
    }
    const size_t tag_end = pos;
    if (strip_after) {
      while (pos < s.size() && is_space(s[pos])) line += s[pos++] == '\n';
    } else if (kind != '{' && !keep_newline && pos < s.size() && s[pos] == '\n') {  // trim_blocks
      ++pos;
      ++line;
    }
    line_starting = pos > tag_end && s[pos - 1] == '\n';
  }
  return out;
}

}  // namespace tern::jinja
