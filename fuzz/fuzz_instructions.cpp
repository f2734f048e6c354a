// Alpaca-style instruction data (a JSON array or JSONL) through fw::data::loadInstructions.
// The first byte picks the bad-row policy, the max length and the prompt template; the rest is
// the file.
#include "data/instructions.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& tok = fw::fuzz::datasetTokenizer();
  const uint8_t a = data[0];
  fw::data::InstructionOptions opt;
  opt.badRows = (a & 1) ? fw::data::BadRows::Skip : fw::data::BadRows::Fail;
  static const int64_t lengths[] = {512, 0, 1, 2, 5, 16, 64, 3};
  opt.maxLength = lengths[(a >> 1) & 7];
  if (a & 16) opt.prompt = {"{instruction}|{input}|{instruction}", "{input}{instruction}"};
  const std::string path = fw::fuzz::scratchDir() + ((a & 32) ? "/data.jsonl" : "/data.json");
  fw::fuzz::writeFile(path, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  try {
    fw::data::Dataset ds = fw::data::loadInstructions(path, tok, opt);
    for (const auto& ex : ds.examples) {
      if (ex.ids.size() != ex.lmLabels.size()) std::abort();
      if (opt.maxLength > 0 && static_cast<int64_t>(ex.ids.size()) > opt.maxLength) std::abort();
    }
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
