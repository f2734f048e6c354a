#pragma once
// A compiled PCRE2 pattern (UTF mode). PEFT matches module names with Python's `re`, whose
// syntax PCRE2 shares for everything target_modules patterns use.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fw {

class Regex {
public:
  // Throws fw::Error with the pattern and PCRE2's message and offset when it does not compile.
  explicit Regex(const std::string& pattern);
  bool fullMatch(std::string_view text) const;  // Python re.fullmatch
  bool matchAtStart(std::string_view text) const;  // Python re.match
  // Python re.match(...).group(group), or nothing when there is no match.
  std::optional<std::string> matchGroup(std::string_view text, int group) const;
  // When the whole text matches, the replacement with $1, $2... filled in; otherwise nothing.
  std::optional<std::string> replaceFull(std::string_view text, const std::string& replacement) const;
  const std::string& pattern() const { return pattern_; }

private:
  struct Code;
  int run(std::string_view text, bool full, std::string* groupOut = nullptr, int group = 0) const;
  std::string pattern_;
  std::shared_ptr<Code> full_, anchored_;
};

}  // namespace fw
