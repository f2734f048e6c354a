// fw::readJsonFile (core/util/files): every JSON file the project reads (tokenizer configs,
// experiments, adapter_config.json, summaries) goes through it; errors must be fw::Error with
// the file and line.
#include "fuzz_common.h"
#include "util/files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fw::fuzz::scratchDir() + "/file.json";
  fw::fuzz::writeFile(path, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    nlohmann::json j = fw::readJsonFile(path);
    (void)j.dump();
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
    if (e.filePath() != path) std::abort();
  }
  return 0;
}
