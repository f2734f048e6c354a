#pragma once
// Unicode helpers for the tokenizers: UTF-8 decoding that never fails, and the character
// classes Hugging Face `tokenizers` (Rust) uses, so that our splits match its splits.
// Categories, NFD and case mapping come from libutf8proc.
#include <string>
#include <string_view>

namespace fw::tokenizers::unicode {

constexpr char32_t kReplacement = 0xFFFD;

bool isValidUtf8(std::string_view text);
// Invalid sequences become U+FFFD, one per maximal invalid subpart, as Rust's
// String::from_utf8_lossy and Python's errors="replace" do.
std::u32string decodeUtf8(std::string_view text);
std::string sanitizeUtf8(std::string_view text);  // returns the text itself when valid

void appendUtf8(std::string& out, char32_t cp);
std::string encodeUtf8(std::u32string_view text);
size_t utf8Length(unsigned char leadByte);  // bytes in the sequence a valid lead byte starts

// Rust's char::is_whitespace (the White_Space property).
bool isWhitespace(char32_t cp);
// Hugging Face's BertNormalizer is_control: Cc, Cf or Co (not Cn, not Cs), except \t \n \r,
// which BERT counts as whitespace.
bool isControl(char32_t cp);
// ASCII punctuation (which includes symbols such as $ + < = > ^ ` |) or any P* category.
bool isPunctuation(char32_t cp);
// The CJK ideograph blocks that BERT pads with spaces.
bool isChineseChar(char32_t cp);
bool isMarkNonspacing(char32_t cp);
// Regex \w as Rust's regex crate defines it: letters, marks, decimal digits, connector punctuation.
bool isWordChar(char32_t cp);

// Canonical decomposition (NFD), with canonical reordering of combining marks.
std::u32string nfd(std::u32string_view text);
// Full lowercase mapping as Rust's char::to_lowercase (U+0130 becomes two code points).
void appendLowercase(std::u32string& out, char32_t cp);

}  // namespace fw::tokenizers::unicode
