#include "tern/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "tern/error.h"

namespace tern {

std::vector<uint32_t> utf8_to_codepoints(std::string_view s);
size_t utf8_char_len(unsigned char c);

namespace {
const std::string kSpmSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

// The byte of a SentencePiece byte token "<0xAB>", or -1 for any other text (a vocabulary may lie about
// types).
int byte_token_value(const std::string& t) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
  };
  if (t.size() != 6 || t.rfind("<0x", 0) != 0 || t[5] != '>' || hex(t[3]) < 0 || hex(t[4]) < 0) return -1;
  return hex(t[3]) * 16 + hex(t[4]);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
    s.replace(p, from.size(), to);
  return s;
}
}  // namespace

// ---------------------------------------------------------------- metadata round trip

Vocab Vocab::from_metadata(const ModelFile& f) {
  Vocab v;
  const std::string model = f.get_string("tokenizer.ggml.model", "");
  if (model.empty() || model == "none" || model == "no_vocab")
    throw Error(f.path + ": no tokenizer in the model (use --tokenizer FILE)");
  if (model == "llama")
    v.kind = Kind::Spm;
  else if (model == "gpt2")
    v.kind = Kind::Bpe;
  else
    throw Error(f.path + ": unsupported tokenizer.ggml.model '" + model + "' (supported: llama, gpt2)");
  const MetaValue* tokens = f.get("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != MetaType::ARRAY || tokens->elem != MetaType::STRING || tokens->arr.empty())
    throw Error(f.path + ": tokenizer.ggml.tokens missing or not a string array");
  for (const auto& t : tokens->arr) v.tokens.push_back(t.s);
  const size_t n = v.tokens.size();
  if (const MetaValue* s = f.get("tokenizer.ggml.scores")) {
    if (s->type != MetaType::ARRAY || s->arr.size() != n)
      throw Error(f.path + ": tokenizer.ggml.scores has the wrong length");
    for (const auto& x : s->arr) v.scores.push_back(float(x.as_float()));
  } else {
    v.scores.assign(n, 0.0f);
  }
  if (const MetaValue* tt = f.get("tokenizer.ggml.token_type")) {
    if (tt->type != MetaType::ARRAY || tt->arr.size() != n)
      throw Error(f.path + ": tokenizer.ggml.token_type has the wrong length");
    for (const auto& x : tt->arr) v.types.push_back(TokenType(x.as_int()));
  } else {
    v.types.assign(n, TokenType::Normal);
  }
  if (const MetaValue* m = f.get("tokenizer.ggml.merges"))
    for (const auto& x : m->arr) v.merges.push_back(x.s);
  if (v.kind == Kind::Bpe && v.merges.empty())
    throw Error(f.path + ": BPE tokenizer without tokenizer.ggml.merges");
  v.pre = f.get_string("tokenizer.ggml.pre", "default");
  auto id = [&](const char* key) {
    if (!f.get(key)) return int32_t(-1);
    const int64_t x = f.get_int(key, -1);
    if (x < 0 || x >= int64_t(n))
      throw Error(f.path + ": " + key + " = " + std::to_string(x) + " is outside the vocabulary of " +
                  std::to_string(n) + " tokens");
    return int32_t(x);
  };
  v.bos = id("tokenizer.ggml.bos_token_id");
  v.eos = id("tokenizer.ggml.eos_token_id");
  v.unk = id("tokenizer.ggml.unknown_token_id");
  v.pad = id("tokenizer.ggml.padding_token_id");
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", v.kind == Kind::Spm);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", v.kind == Kind::Spm);
  return v;
}

void Vocab::to_metadata(std::map<std::string, MetaValue>& meta) const {
  meta["tokenizer.ggml.model"] = MetaValue::str(kind == Kind::Spm ? "llama" : "gpt2");
  if (kind == Kind::Bpe) meta["tokenizer.ggml.pre"] = MetaValue::str(pre);
  std::vector<MetaValue> tok, sc, ty, mg;
  for (const auto& t : tokens) tok.push_back(MetaValue::str(t));
  for (auto t : types) ty.push_back(MetaValue::i32(int32_t(t)));
  meta["tokenizer.ggml.tokens"] = MetaValue::array(MetaType::STRING, std::move(tok));
  meta["tokenizer.ggml.token_type"] = MetaValue::array(MetaType::I32, std::move(ty));
  if (kind == Kind::Spm) {
    for (auto s : scores) sc.push_back(MetaValue::f32(s));
    meta["tokenizer.ggml.scores"] = MetaValue::array(MetaType::F32, std::move(sc));
  } else {
    for (const auto& m : merges) mg.push_back(MetaValue::str(m));
    meta["tokenizer.ggml.merges"] = MetaValue::array(MetaType::STRING, std::move(mg));
  }
  auto put_id = [&](const char* key, int32_t v) {
    if (v >= 0) meta[key] = MetaValue::u32(uint32_t(v));
  };
  put_id("tokenizer.ggml.bos_token_id", bos);
  put_id("tokenizer.ggml.eos_token_id", eos);
  put_id("tokenizer.ggml.unknown_token_id", unk);
  put_id("tokenizer.ggml.padding_token_id", pad);
  meta["tokenizer.ggml.add_bos_token"] = MetaValue::boolean(add_bos);
  meta["tokenizer.ggml.add_space_prefix"] = MetaValue::boolean(add_space_prefix);
}

// ---------------------------------------------------------------- tokenizer

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  std::fill(std::begin(byte_tokens_), std::end(byte_tokens_), -1);
  const size_t n = vocab_.tokens.size();
  vocab_.types.resize(n, TokenType::Normal);
  vocab_.scores.resize(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    token_to_id_.emplace(vocab_.tokens[i], int32_t(i));
    const auto& t = vocab_.tokens[i];
    if (vocab_.types[i] == TokenType::Byte)
      if (const int b = byte_token_value(t); b >= 0) byte_tokens_[b] = int32_t(i);
    if ((vocab_.types[i] == TokenType::Control || vocab_.types[i] == TokenType::UserDefined) && !t.empty())
      specials_.push_back(int32_t(i));
  }
  std::sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
    const size_t la = vocab_.tokens[size_t(a)].size(), lb = vocab_.tokens[size_t(b)].size();
    return la != lb ? la > lb : a < b;
  });
  for (size_t i = 0; i < vocab_.merges.size(); ++i) merge_rank_.emplace(vocab_.merges[i], int32_t(i));
  for (int32_t id : specials_)
    special_first_byte_[static_cast<unsigned char>(vocab_.tokens[size_t(id)][0])] = true;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  if (id == vocab_.eos) return true;
  if (id < 0 || size_t(id) >= n_vocab()) return false;
  const auto& t = vocab_.tokens[size_t(id)];
  return vocab_.types[size_t(id)] == TokenType::Control &&
         (t == "<|eot_id|>" || t == "<|im_end|>" || t == "<|end_of_text|>" || t == "<|endoftext|>");
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  // Split out special tokens written literally, then tokenize the text between them.
  size_t start = 0, pos = 0;
  bool first = true;
  while (pos < text.size()) {
    int32_t hit = -1;
    if (special_first_byte_[static_cast<unsigned char>(text[pos])])
      for (int32_t id : specials_) {
        const auto& t = vocab_.tokens[size_t(id)];
        if (vocab_.types[size_t(id)] == TokenType::UserDefined && vocab_.kind == Vocab::Kind::Spm) continue;
        if (text.compare(pos, t.size(), t) == 0) {
          hit = id;
          break;
        }
      }
    if (hit < 0) {
      ++pos;
      continue;
    }
    if (pos > start) encode_fragment(text.substr(start, pos - start), first, out);
    out.push_back(hit);
    first = true;  // like llama.cpp: text after a special token gets the SPM space prefix again
    pos += vocab_.tokens[size_t(hit)].size();
    start = pos;
  }
  if (start < text.size()) encode_fragment(text.substr(start), first, out);
  return out;
}

void Tokenizer::encode_fragment(std::string_view text, bool first, std::vector<int32_t>& out) const {
  if (vocab_.kind == Vocab::Kind::Spm) {
    std::string s(first && vocab_.add_space_prefix ? 1 : 0, ' ');
    s.append(text);
    encode_spm(replace_all(s, " ", kSpmSpace), out);
    return;
  }
  const bool ignore_merges = vocab_.pre == "llama-bpe" || vocab_.pre == "llama3";
  for (const auto& word : pretokenize(vocab_.pre, text)) {
    const std::string enc = bytes_to_unicode(word);
    if (ignore_merges) {
      auto it = token_to_id_.find(enc);
      if (it != token_to_id_.end()) {
        out.push_back(it->second);
        continue;
      }
    }
    encode_bpe_word(enc, out);
  }
}

// SentencePiece BPE as llama.cpp does it: repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring vocabulary piece; pieces left outside the vocabulary fall back to <0xXX> byte tokens.
void Tokenizer::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
  struct Sym {
    int prev, next;
    size_t off, len;
  };
  std::vector<Sym> syms;
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min(utf8_char_len(static_cast<unsigned char>(text[off])), text.size() - off);
    syms.push_back({int(syms.size()) - 1, int(syms.size()) + 1, off, len});
    off += len;
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  struct Bigram {
    int left, right;
    float score;
    size_t size;
  };
  auto cmp = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(cmp)> queue(cmp);
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const std::string piece(text.substr(syms[size_t(l)].off, syms[size_t(l)].len + syms[size_t(r)].len));
    auto it = token_to_id_.find(piece);
    if (it == token_to_id_.end()) return;
    queue.push({l, r, vocab_.scores[size_t(it->second)], piece.size()});
  };
  for (size_t i = 1; i < syms.size(); ++i) try_add(int(i) - 1, int(i));
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Sym& l = syms[size_t(b.left)];
    Sym& r = syms[size_t(b.right)];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[size_t(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int i = 0; i >= 0; i = syms[size_t(i)].next) {
    const std::string piece(text.substr(syms[size_t(i)].off, syms[size_t(i)].len));
    auto it = token_to_id_.find(piece);
    if (it != token_to_id_.end()) {
      out.push_back(it->second);
      continue;
    }
    for (unsigned char c : piece) {
      const int32_t bt = byte_tokens_[c];
      if (bt >= 0)
        out.push_back(bt);
      else if (vocab_.unk >= 0)
        out.push_back(vocab_.unk);
    }
  }
}

// Byte-level BPE on one pre-tokenized word: merge the lowest-ranked adjacent pair until none is left.
void Tokenizer::encode_bpe_word(const std::string& word, std::vector<int32_t>& out) const {
  // Merges in rank order, leftmost first among equal ranks, through a heap of candidate pairs: O(n log n) in
  // the word's length (a repeated merge scan is quadratic, and a word can be a whole prompt without spaces).
  struct Symbol {
    size_t start, len;
    int prev, next;
  };
  std::vector<Symbol> sym;
  for (size_t off = 0; off < word.size();) {
    const size_t len = std::min(utf8_char_len(static_cast<unsigned char>(word[off])), word.size() - off);
    sym.push_back({off, len, int(sym.size()) - 1, int(sym.size()) + 1});
    off += len;
  }
  if (!sym.empty()) sym.back().next = -1;
  struct Candidate {
    int32_t rank;
    int left;
    size_t left_len, right_len;  // the pair as it was when pushed: stale once either side changed
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  std::string key;
  auto push = [&](int left) {
    if (left < 0 || sym[size_t(left)].next < 0) return;
    const Symbol &l = sym[size_t(left)], &r = sym[size_t(l.next)];
    key.assign(word, l.start, l.len).append(" ").append(word, r.start, r.len);
    if (auto it = merge_rank_.find(key); it != merge_rank_.end())
      queue.push({it->second, left, l.len, r.len});
  };
  for (size_t i = 0; i + 1 < sym.size(); ++i) push(int(i));
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = sym[size_t(c.left)];
    if (l.len != c.left_len || l.next < 0 || sym[size_t(l.next)].len != c.right_len) continue;
    Symbol& r = sym[size_t(l.next)];
    l.len += r.len;
    r.len = 0;  // merged away
    l.next = r.next;
    if (r.next >= 0) sym[size_t(r.next)].prev = c.left;
    push(l.prev);
    push(c.left);
  }
  std::vector<std::string> parts;
  for (int i = sym.empty() ? -1 : 0; i >= 0; i = sym[size_t(i)].next)
    parts.push_back(word.substr(sym[size_t(i)].start, sym[size_t(i)].len));
  for (const auto& p : parts) {
    auto it = token_to_id_.find(p);
    if (it != token_to_id_.end()) {
      out.push_back(it->second);
    } else {  // not in the vocabulary: emit each byte's token if there is one
      for (unsigned char c : unicode_to_bytes(p)) {
        auto bt = token_to_id_.find(bytes_to_unicode(std::string(1, char(c))));
        if (bt != token_to_id_.end())
          out.push_back(bt->second);
        else if (vocab_.unk >= 0)
          out.push_back(vocab_.unk);
      }
    }
  }
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  if (id < 0 || size_t(id) >= n_vocab()) return "";
  const auto& t = vocab_.tokens[size_t(id)];
  const TokenType type = vocab_.types[size_t(id)];
  if (type == TokenType::Control || type == TokenType::Unknown || type == TokenType::Unused) return "";
  if (vocab_.kind == Vocab::Kind::Spm) {
    if (type == TokenType::Byte)
      if (const int b = byte_token_value(t); b >= 0) return std::string(1, char(b));
    return replace_all(t, kSpmSpace, " ");
  }
  if (type == TokenType::UserDefined) return t;
  return unicode_to_bytes(t);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string s;
  for (auto id : ids) s += token_to_piece(id);
  return s;
}

size_t complete_utf8_prefix(std::string_view s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xc0) == 0x80) continue;  // a continuation byte: its lead is further back
    const size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? s.size() - back : s.size();
  }
  return s.size();
}

}  // namespace tern
