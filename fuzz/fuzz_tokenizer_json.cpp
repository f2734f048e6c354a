// tokenizer.json (WordPiece or byte-level BPE) through fw::tokenizers::loadTokenizer(dir),
// the folder loader the CLI and the trainer use; a tokenizer that loads is then run.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = fw::fuzz::freshDir("tokenizer-json");
  fw::fuzz::writeFile(dir + "/tokenizer.json", std::string_view(reinterpret_cast<const char*>(data), size));
  fw::fuzz::loadAndExerciseTokenizer(dir);
  return 0;
}
