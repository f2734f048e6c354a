#include "data/delimited.h"

#include "data/text_fields.h"

namespace fw::data {

DelimitedReader::DelimitedReader(std::string_view text, char delimiter, bool quoting)
    : text_(stripBom(text)), delimiter_(delimiter), quoting_(quoting) {}

bool DelimitedReader::next(Record& record) {
  // Skip blank lines (an empty line, or a lone CR before LF).
  for (;;) {
    if (pos_ >= text_.size()) return false;
    if (text_[pos_] == '\n') { ++pos_; ++line_; continue; }
    if (text_[pos_] == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n')) { ++pos_; continue; }
    break;
  }
  record.line = line_;
  record.fields.clear();
  record.error.clear();

  std::string field;
  for (;;) {
    field.clear();
    if (quoting_ && pos_ < text_.size() && text_[pos_] == '"') {
      readQuoted(field, record);
      if (!record.error.empty()) { record.fields.push_back(field); return true; }
    }
    // Unquoted text, or what follows a closing quote (kept as Python's csv keeps it).
    size_t end = pos_;
    while (end < text_.size() && text_[end] != delimiter_ && text_[end] != '\n') ++end;
    std::string_view rest = text_.substr(pos_, end - pos_);
    const bool lineEnds = end >= text_.size() || text_[end] == '\n';
    if (lineEnds && !rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
    field.append(rest);
    record.fields.push_back(field);
    pos_ = end;
    if (lineEnds) {
      if (pos_ < text_.size()) { ++pos_; ++line_; }
      return true;
    }
    ++pos_;  // the delimiter
  }
}

void DelimitedReader::readQuoted(std::string& field, Record& record) {
  ++pos_;  // the opening quote
  for (;;) {
    const size_t quote = text_.find('"', pos_);
    const std::string_view chunk = text_.substr(pos_, quote == std::string_view::npos ? std::string_view::npos : quote - pos_);
    for (char c : chunk) line_ += c == '\n';
    field.append(chunk);
    if (quote == std::string_view::npos) {
      pos_ = text_.size();
      record.error = "unterminated quoted field";
      return;
    }
    if (quote + 1 < text_.size() && text_[quote + 1] == '"') {
      field.push_back('"');
      pos_ = quote + 2;
      continue;
    }
    pos_ = quote + 1;
    return;
  }
}

}  // namespace fw::data
