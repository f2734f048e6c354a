#include "tokenizers/added_vocabulary.h"

#include "tokenizers/unicode.h"

#include <algorithm>

namespace fw::tokenizers {

namespace {

// The code point that ends just before `end` (text is valid UTF-8).
char32_t lastCodePoint(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  const auto cps = unicode::decodeUtf8(text.substr(start, end - start));
  return cps.empty() ? 0 : cps.back();
}

char32_t firstCodePoint(std::string_view text, size_t begin) {
  const size_t n = unicode::utf8Length(static_cast<unsigned char>(text[begin]));
  const auto cps = unicode::decodeUtf8(text.substr(begin, n));
  return cps.empty() ? 0 : cps.front();
}

}  // namespace

void AddedVocabulary::add(const AddedToken& token) {
  if (token.content.empty()) return;
  auto it = byContent_.find(token.content);
  if (it != byContent_.end()) {
    byId_.erase(tokens_[it->second].id);
    tokens_[it->second] = token;
    byId_[token.id] = it->second;
    return;
  }
  byContent_[token.content] = tokens_.size();
  byId_[token.id] = tokens_.size();
  tokens_.push_back(token);
}

void AddedVocabulary::finalize(const std::function<std::string(std::string_view)>& normalize) {
  for (auto& pass : byFirstByte_)
    for (auto& bucket : pass) bucket.clear();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    std::string text = t.normalized && normalize ? normalize(t.content) : t.content;
    if (text.empty()) continue;
    byFirstByte_[t.normalized ? 1 : 0][static_cast<unsigned char>(text[0])].push_back({text, i});
  }
  for (auto& pass : byFirstByte_)
    for (auto& bucket : pass)
      std::stable_sort(bucket.begin(), bucket.end(), [](const Pattern& a, const Pattern& b) {
        return a.text.size() > b.text.size();
      });
}

const AddedToken* AddedVocabulary::byContent(const std::string& content) const {
  auto it = byContent_.find(content);
  return it == byContent_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::byId(int64_t id) const {
  auto it = byId_.find(id);
  return it == byId_.end() ? nullptr : &tokens_[it->second];
}

std::vector<AddedVocabulary::Segment> AddedVocabulary::split(std::string_view text,
                                                             bool normalizedPass) const {
  std::vector<Segment> out;
  const auto& buckets = byFirstByte_[normalizedPass ? 1 : 0];
  size_t emitted = 0;  // end of the last segment pushed
  size_t pos = 0;
  while (pos < text.size()) {
    const auto& bucket = buckets[static_cast<unsigned char>(text[pos])];
    const Pattern* hit = nullptr;
    for (const Pattern& p : bucket)
      if (text.compare(pos, p.text.size(), p.text) == 0) { hit = &p; break; }
    if (!hit) { ++pos; continue; }
    size_t start = pos, stop = pos + hit->text.size();
    const AddedToken& token = tokens_[hit->index];
    pos = stop;  // like the Aho-Corasick iterator, never look inside a match again
    if (token.singleWord) {
      const bool spaceBefore = start == 0 || !unicode::isWordChar(lastCodePoint(text, start));
      const bool spaceAfter = stop == text.size() || !unicode::isWordChar(firstCodePoint(text, stop));
      if (!spaceBefore || !spaceAfter) continue;
    }
    if (token.lstrip) {
      size_t s = start;
      while (s > emitted && unicode::isWhitespace(lastCodePoint(text, s))) {
        do { --s; } while (s > 0 && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80);
      }
      start = s;
    }
    if (token.rstrip) {
      while (stop < text.size() && unicode::isWhitespace(firstCodePoint(text, stop)))
        stop += unicode::utf8Length(static_cast<unsigned char>(text[stop]));
      pos = stop;
    }
    if (emitted < start) out.push_back({text.substr(emitted, start - emitted), nullptr});
    out.push_back({text.substr(start, stop - start), &token});
    emitted = stop;
  }
  if (emitted < text.size()) out.push_back({text.substr(emitted), nullptr});
  return out;
}

}  // namespace fw::tokenizers
