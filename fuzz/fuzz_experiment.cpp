// Experiment files with `--set` overrides (core/train/experiment): the input is
// experiment.json [NUL override [NUL override ...]] (at most 8 overrides, each "key=value" as a
// user types it). An experiment that loads is written back with toJson() and read again: the
// resolved experiment a run folder stores must load as itself.
#include "fuzz_common.h"
#include "train/experiment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fw::fuzz::splitNul(data, size, 9);
  const std::string dir = fw::fuzz::freshDir("experiment");
  const std::string path = dir + "/experiment.json";
  fw::fuzz::writeFile(path, parts[0]);
  std::vector<std::string> sets;
  for (size_t i = 1; i < parts.size(); ++i) sets.emplace_back(parts[i]);
  try {
    auto e = fw::train::loadExperiment(path, sets);
    const auto j = e.toJson();
    auto again = fw::train::Experiment::fromJson(j, path);
    if (again.toJson() != j) std::abort();  // the stored experiment must read back as itself
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
