#pragma once
// Small parsers for the text readers: strict numbers (the whole field or nothing, so "1x" is
// not 1), trimming, a UTF-8 byte-order mark, and field checks shared by GLUE and tables.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fw::data {

std::string_view trim(std::string_view text);  // ASCII spaces, tabs, CR and LF at both ends
std::string toLower(std::string_view text);    // ASCII only
std::string_view stripBom(std::string_view text);

// The whole trimmed field as a number, or nothing (empty, trailing characters, out of range).
std::optional<int64_t> parseInt(std::string_view field);
std::optional<double> parseDouble(std::string_view field);  // finite values only
// An integer, or a float with no fraction ("1.0", as some exports write class labels).
std::optional<int64_t> parseIntegral(std::string_view field);

// The reason a text field cannot be tokenized ("invalid UTF-8 at byte 3", "empty text"), or
// nothing when it is fine. Only whitespace counts as empty.
std::optional<std::string> textProblem(std::string_view text);

// "a, b, c" for messages.
std::string joinNames(const std::vector<std::string>& names, const std::string& separator = ", ");

}  // namespace fw::data
