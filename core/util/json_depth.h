#pragma once
// How deep a parsed JSON value nests. nlohmann parses and frees nested values without
// recursion, but dump(), copies and comparisons recurse once per level: a line of 50,000
// nested brackets overflowed the stack when its error message printed it (fuzz_table, under
// the sanitizers; finding 22 in docs/reliability.md). Every reader of JSON that a user gives
// refuses a value nested deeper than kMaxJsonDepth, right after parsing. Real files nest a
// few levels; the limit keeps a recursion of that depth far inside an 8 MB stack (20,000
// levels were dumped under AddressSanitizer), and no input under 20,000 bytes can reach it.
#include <string>
#include <utility>
#include <vector>

namespace fw {

inline constexpr int kMaxJsonDepth = 10000;

// True when `value` has more than `limit` levels (a scalar is one level, [1] two). Walks the
// value with its own stack, so any depth is measured safely.
template <class Json>
bool jsonDeeperThan(const Json& value, int limit = kMaxJsonDepth) {
  std::vector<std::pair<const Json*, int>> pending{{&value, 1}};
  while (!pending.empty()) {
    const auto [v, depth] = pending.back();
    pending.pop_back();
    if (depth > limit) return true;
    if (v->is_structured())
      for (const auto& child : *v) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

// The reason the readers give: "JSON nested deeper than 10000 levels".
inline std::string jsonTooDeepReason() { return "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"; }

}  // namespace fw
