#include "util/regex.h"

#include "util/error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace fw {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};


Regex::Regex(const std::string& pattern) : pattern_(pattern) {
  auto compile = [&](const std::string& p) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    auto c = std::make_shared<Code>();
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), PCRE2_UTF, &err, &offset, nullptr);
    if (!c->code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw Error(std::string("invalid regular expression '") + pattern + "': " + reinterpret_cast<char*>(msg) +
                  " at offset " + std::to_string(offset));
    }
    return c;
  };
  // Python's fullmatch and match, as patterns anchored at both ends and at the start.
  full_ = compile("(?:" + pattern + ")\\z");
  anchored_ = compile(pattern);
}

int Regex::run(std::string_view text, bool full, std::string* groupOut, int group) const {
  const Code& c = full ? *full_ : *anchored_;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(c.code, nullptr);
  int rc = pcre2_match(c.code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, PCRE2_ANCHORED, md, nullptr);
  if (rc > group && groupOut) {
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[2 * group] != PCRE2_UNSET) *groupOut = std::string(text.substr(ov[2 * group], ov[2 * group + 1] - ov[2 * group]));
    else rc = -1;
  } else if (groupOut) {
    rc = -1;
  }
  pcre2_match_data_free(md);
  return rc;
}

bool Regex::fullMatch(std::string_view text) const { return run(text, true) >= 0; }
bool Regex::matchAtStart(std::string_view text) const { return run(text, false) >= 0; }

std::optional<std::string> Regex::matchGroup(std::string_view text, int group) const {
  std::string out;
  if (run(text, false, &out, group) < 0) return std::nullopt;
  return out;
}

std::optional<std::string> Regex::replaceFull(std::string_view text, const std::string& replacement) const {
  if (!fullMatch(text)) return std::nullopt;
  std::string out(text.size() + replacement.size() + 64, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    PCRE2_SIZE size = out.size();
    int rc = pcre2_substitute(full_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                              PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, nullptr, nullptr,
                              reinterpret_cast<PCRE2_SPTR>(replacement.data()), replacement.size(),
                              reinterpret_cast<PCRE2_UCHAR*>(out.data()), &size);
    if (rc >= 0) {
      out.resize(size);
      return out;
    }
    if (rc != PCRE2_ERROR_NOMEMORY) throw Error("bad replacement '" + replacement + "' for pattern '" + pattern_ + "'");
    out.assign(size + 1, '\0');
  }
  throw Error("regex replacement failed for pattern '" + pattern_ + "'");
}

}  // namespace fw
