#include "tokenizers/unicode.h"

#include <utf8proc.h>

namespace fw::tokenizers::unicode {

namespace {

// Decodes one code point at text[i]; on an invalid sequence returns U+FFFD and consumes the
// maximal invalid subpart (at least one byte), the Unicode "best practice" Rust and Python follow.
char32_t decodeOne(std::string_view text, size_t& i, bool& valid) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  valid = true;
  if (b0 < 0x80) { ++i; return b0; }
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range allowed for the second byte
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) { need = 1; cp = b0 & 0x1F; }
  else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2; cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3; cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    ++i; valid = false; return kReplacement;
  }
  size_t j = i + 1;
  for (size_t k = 0; k < need; ++k, ++j) {
    if (j >= text.size()) { i = j; valid = false; return kReplacement; }
    const auto b = static_cast<unsigned char>(text[j]);
    const unsigned char l = k == 0 ? lo : 0x80, h = k == 0 ? hi : 0xBF;
    if (b < l || b > h) { i = j; valid = false; return kReplacement; }
    cp = (cp << 6) | (b & 0x3F);
  }
  i = j;
  return cp;
}

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  size_t i = 0;
  bool valid = true;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) { ++i; continue; }
    decodeOne(text, i, valid);
    if (!valid) return false;
  }
  return true;
}

std::u32string decodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  bool valid = true;
  while (i < text.size()) out.push_back(decodeOne(text, i, valid));
  return out;
}

std::string sanitizeUtf8(std::string_view text) {
  if (isValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  size_t i = 0;
  bool valid = true;
  while (i < text.size()) appendUtf8(out, decodeOne(text, i, valid));
  return out;
}

void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) appendUtf8(out, cp);
  return out;
}

size_t utf8Length(unsigned char leadByte) {
  if (leadByte < 0x80) return 1;
  if (leadByte < 0xE0) return 2;
  if (leadByte < 0xF0) return 3;
  return 4;
}

bool isWhitespace(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool isControl(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (category(cp)) {
    // unicode_categories' is_other(), which Hugging Face's BertNormalizer calls: Cc, Cf and Co.
    // Unassigned (Cn) code points stay in the text (and become [UNK]); Cs cannot occur in text.
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CO:
      return true;
    default:
      return false;
  }
}

bool isPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126))
    return true;
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool isChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool isMarkNonspacing(char32_t cp) { return category(cp) == UTF8PROC_CATEGORY_MN; }

bool isWordChar(char32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  if (cp == 0x200C || cp == 0x200D) return true;  // Join_Control
  const auto c = category(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
         c == UTF8PROC_CATEGORY_PC;
}

std::u32string nfd(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size() + 8);
  for (char32_t cp : text) {
    if (cp < 0xC0) { out.push_back(cp); continue; }  // nothing below U+00C0 decomposes canonically
    utf8proc_int32_t buf[32];
    int boundclass = 0;
    const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 32,
                                           UTF8PROC_DECOMPOSE, &boundclass);
    if (n <= 0 || n > 32) { out.push_back(cp); continue; }
    for (utf8proc_ssize_t k = 0; k < n; ++k) out.push_back(static_cast<char32_t>(buf[k]));
  }
  // Canonical ordering: a stable sort of each run of combining marks by combining class.
  auto ccc = [](char32_t cp) {
    return cp < 0x300 ? 0 : utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
  };
  for (size_t i = 1; i < out.size(); ++i) {
    const auto ci = ccc(out[i]);
    if (ci == 0) continue;
    size_t j = i;
    while (j > 0) {
      const auto cj = ccc(out[j - 1]);
      if (cj == 0 || cj <= ci) break;
      std::swap(out[j - 1], out[j]);
      --j;
    }
  }
  return out;
}

void appendLowercase(std::u32string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    return;
  }
  if (cp == 0x130) {  // the one unconditional SpecialCasing entry: İ -> i + combining dot above
    out.push_back(U'i');
    out.push_back(0x307);
    return;
  }
  out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
}

}  // namespace fw::tokenizers::unicode
