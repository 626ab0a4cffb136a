// UTF-8, Unicode categories and the BPE pre-tokenizers (hand-written equivalents of the GPT-2 and Llama 3
// split regexes, following llama.cpp so token ids match it).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tern/tokenizer.h"

namespace tern {
namespace {

struct CodepointRange {
  uint32_t lo, hi;
};
#include "generated/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodepointRange (&r)[N], uint32_t cp) {
  auto it = std::upper_bound(std::begin(r), std::end(r), cp,
                             [](uint32_t c, const CodepointRange& x) { return c < x.lo; });
  return it != std::begin(r) && cp <= (it - 1)->hi;
}

constexpr uint32_t kOutOfRange = 0xFFFFFFFF;

struct Flags {
  bool valid = false, letter = false, number = false, space = false;
};

bool is_white_space(uint32_t c) {  // Unicode White_Space property
  return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

Flags flags_of(uint32_t c) {
  Flags f;
  if (c == kOutOfRange) return f;
  f.valid = true;
  f.space = is_white_space(c);
  f.letter = in_ranges(kLetterRanges, c);
  f.number = in_ranges(kNumberRanges, c);
  return f;
}

}  // namespace

std::vector<uint32_t> utf8_to_codepoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {  // invalid byte: map to U+FFFD, advance one byte
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    bool ok = true;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string codepoint_to_utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xc0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    s += char(0xe0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3f));
    s += char(0x80 | (cp & 0x3f));
  } else {
    s += char(0xf0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3f));
    s += char(0x80 | ((cp >> 6) & 0x3f));
    s += char(0x80 | (cp & 0x3f));
  }
  return s;
}

size_t utf8_char_len(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

namespace {

// Splits cps into pieces by the GPT-2 regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// or, with llama3 = true, the Llama 3 regex
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
std::vector<size_t> split_words(const std::vector<uint32_t>& cps, bool llama3) {
  const size_t n = cps.size();
  auto cp = [&](size_t i) { return i < n ? cps[i] : kOutOfRange; };
  auto fl = [&](size_t i) { return flags_of(cp(i)); };
  auto lower = [](uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; };
  std::vector<size_t> ends;
  size_t pos = 0;
  while (pos < n) {
    const uint32_t c = cps[pos];
    const Flags f = fl(pos);
    if (c == '\'' && pos + 1 < n) {
      const uint32_t c1 = llama3 ? lower(cp(pos + 1)) : cp(pos + 1);
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
        ends.push_back(pos += 2);
        continue;
      }
      if (pos + 2 < n) {
        const uint32_t c2 = llama3 ? lower(cp(pos + 2)) : cp(pos + 2);
        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
          ends.push_back(pos += 3);
          continue;
        }
      }
    }
    if (llama3) {
      if (!(c == '\r' || c == '\n' || f.number) && (f.letter || fl(pos + 1).letter)) {
        ++pos;
        while (fl(pos).letter) ++pos;
        ends.push_back(pos);
        continue;
      }
      if (f.number) {
        size_t ini = pos;
        while (fl(pos).number)
          if (++pos - ini >= 3) {
            ends.push_back(pos);
            ini = pos;
          }
        if (ends.empty() || ends.back() != pos) ends.push_back(pos);
        continue;
      }
    } else {
      const Flags f2 = c == ' ' ? fl(pos + 1) : f;
      if (f2.letter) {
        pos += (c == ' ');
        while (fl(pos).letter) ++pos;
        ends.push_back(pos);
        continue;
      }
      if (f2.number) {
        pos += (c == ' ');
        while (fl(pos).number) ++pos;
        ends.push_back(pos);
        continue;
      }
    }
    Flags f2 = c == ' ' ? fl(pos + 1) : f;
    if (!(f2.space || f2.letter || f2.number) && f2.valid) {
      pos += (c == ' ');
      while (!(f2.space || f2.letter || f2.number) && f2.valid) f2 = fl(++pos);
      if (llama3)
        while (cp(pos) == '\r' || cp(pos) == '\n') ++pos;
      ends.push_back(pos);
      continue;
    }
    size_t n_ws = 0, last_rn = 0;
    while (fl(pos + n_ws).space) {
      const uint32_t w = cp(pos + n_ws);
      if (w == '\r' || w == '\n') last_rn = pos + n_ws + 1;
      ++n_ws;
    }
    if (llama3 && last_rn > 0) {
      ends.push_back(pos = last_rn);
      continue;
    }
    if (n_ws > 1 && cp(pos + n_ws) != kOutOfRange) {
      ends.push_back(pos += n_ws - 1);
      continue;
    }
    if (n_ws > 0) {
      ends.push_back(pos += n_ws);
      continue;
    }
    ends.push_back(++pos);
  }
  return ends;
}

}  // namespace

std::vector<std::string> pretokenize(std::string_view pre, std::string_view text) {
  const auto cps = utf8_to_codepoints(text);
  // Fragments before the main regex: SmolLM first isolates every digit (\p{N}).
  std::vector<std::pair<size_t, size_t>> frags;
  if (pre == "smollm") {
    size_t start = 0;
    for (size_t i = 0; i < cps.size(); ++i)
      if (flags_of(cps[i]).number) {
        if (i > start) frags.emplace_back(start, i);
        frags.emplace_back(i, i + 1);
        start = i + 1;
      }
    if (start < cps.size()) frags.emplace_back(start, cps.size());
  } else if (!cps.empty()) {
    frags.emplace_back(0, cps.size());
  }
  const bool llama3 = pre == "llama-bpe" || pre == "llama3";
  std::vector<std::string> words;
  for (auto [b, e] : frags) {
    std::vector<uint32_t> sub(cps.begin() + long(b), cps.begin() + long(e));
    size_t start = 0;
    for (size_t end : split_words(sub, llama3)) {
      std::string w;
      for (size_t i = start; i < end; ++i) w += codepoint_to_utf8(sub[i]);
      words.push_back(std::move(w));
      start = end;
    }
  }
  return words;
}

namespace {
// GPT-2's reversible byte -> printable code point map.
const std::vector<uint32_t>& byte_map() {
  static const std::vector<uint32_t> m = [] {
    std::vector<uint32_t> v(256);
    std::vector<bool> direct(256, false);
    for (int b = '!'; b <= '~'; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) v[b] = direct[b] ? uint32_t(b) : next++;
    return v;
  }();
  return m;
}
}  // namespace

std::string bytes_to_unicode(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) out += codepoint_to_utf8(byte_map()[b]);
  return out;
}

std::string unicode_to_bytes(std::string_view encoded) {
  static const std::vector<int> inverse = [] {
    std::vector<int> inv(512, -1);
    for (int b = 0; b < 256; ++b) inv[byte_map()[b]] = b;
    return inv;
  }();
  std::string out;
  for (uint32_t cp : utf8_to_codepoints(encoded)) {
    if (cp < inverse.size() && inverse[cp] >= 0)
      out += char(inverse[cp]);
    else
      out += codepoint_to_utf8(cp);
  }
  return out;
}

}  // namespace tern
