#pragma once
// Records of a CSV or TSV text. With quoting (RFC 4180): a field may be enclosed in double
// quotes, "" inside it is one quote, and it may hold delimiters and line breaks. Without
// quoting (TSV as GLUE and IANA define it, Python's csv.QUOTE_NONE): every delimiter splits.
// LF and CRLF both end a record; blank lines are skipped; a leading UTF-8 BOM is dropped.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fw::data {

struct Record {
  int64_t line = 0;  // 1-based line on which the record starts
  std::vector<std::string> fields;
  std::string error;  // non-empty when the record is malformed (an unterminated quote)
};

class DelimitedReader {
public:
  // `text` must outlive the reader.
  DelimitedReader(std::string_view text, char delimiter, bool quoting);
  // Reads the next non-blank record; false at the end of the text.
  bool next(Record& record);

private:
  void readQuoted(std::string& field, Record& record);

  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  char delimiter_;
  bool quoting_;
};

}  // namespace fw::data
