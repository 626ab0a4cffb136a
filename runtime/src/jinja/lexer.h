#pragma once
// Splitting a template into text and tags, with Jinja's whitespace control, and tags into tokens.
#include <string>
#include <vector>

namespace tern::jinja {

struct Token {
  enum class Kind { Name, String, Int, Float, Op, End };
  Kind kind = Kind::End;
  std::string text;  // Name / Op text, String contents (escapes resolved), number spelling
  int line = 0;
};

// A piece of template: literal text, or the tokens of one {{ ... }} or {% ... %} tag (comments are dropped).
struct Segment {
  enum class Kind { Text, Print, Block };
  Kind kind;
  std::string text;           // Text
  std::vector<Token> tokens;  // Print / Block, ending with an End token
  int line = 0;
};

// trim_blocks and lstrip_blocks on, as Hugging Face renders chat templates; line endings normalized and one
// trailing newline dropped, as Jinja does by default. {% raw %} blocks come out as text.
std::vector<Segment> split_template(const std::string& source);

}  // namespace tern::jinja
