#include "util/error.h"

#include <sstream>

namespace fw {

// Keeps sanitizer_defaults.cpp (its run-time options) in every program that reports an error.
extern int sanitizerDefaultsAnchor;
__attribute__((used)) static int* const keepSanitizerDefaults = &sanitizerDefaultsAnchor;

std::string Error::shapeString(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

Error& Error::rebuild() {
  std::ostringstream s;
  if (!file_.empty()) s << file_ << (line_ >= 0 ? ":" + std::to_string(line_) : std::string()) << ": ";
  else if (line_ >= 0) s << "line " << line_ << ": ";
  if (!field_.empty()) s << "field '" << field_ << "': ";
  if (!tensor_.empty()) s << "tensor '" << tensor_ << "': ";
  s << message_;
  if (!expected_.empty()) s << ": expected " << expected_;
  if (!got_.empty()) s << (expected_.empty() ? ": got " : ", got ") << got_;
  if (!hint_.empty()) s << " (" << hint_ << ")";
  what_ = s.str();
  return *this;
}

}  // namespace fw
