// GLUE TSV splits through fw::data::loadGlue. The first byte picks the task (bits 0-5 mod 11: all of GLUE's,
// in either file layout), the bad-row policy and the max length; the rest is the file.
#include "data/glue.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& tok = fw::fuzz::datasetTokenizer();
  const uint8_t choice = data[0];
  const auto& names = fw::data::glueTaskNames();
  const std::string& task = names[(choice & 0x3f) % names.size()];
  const auto policy = (choice & 0x40) ? fw::data::BadRows::Skip : fw::data::BadRows::Fail;
  const int64_t maxLength = (choice & 0x80) ? 8 : 0;
  const std::string path = fw::fuzz::scratchDir() + "/glue.tsv";
  fw::fuzz::writeFile(path, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  try {
    fw::data::Dataset ds = fw::data::loadGlue(task, path, tok, maxLength, policy);
    for (const auto& ex : ds.examples)
      if (ex.hasLabel && !ds.labelNames.empty() && (ex.label < 0 || ex.label >= ds.numLabels)) std::abort();
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
