#pragma once
// Times as the run index, summaries and log.txt store them: UTC ISO-8601 to the second,
// "2026-11-25T14:30:00Z", which sorts as text in time order.
#include <ctime>
#include <optional>
#include <string>

namespace fw::runs {

std::string utcIso(std::time_t t);
std::string nowUtcIso();
// Accepts "YYYY-MM-DDTHH:MM:SS" with an optional fraction and "Z"; nullopt for anything else.
std::optional<std::time_t> parseUtcIso(const std::string& text);

}  // namespace fw::runs
