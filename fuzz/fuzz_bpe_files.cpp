// Byte-level BPE from the classic files: the input is vocab.json NUL merges.txt
// [NUL tokenizer_config.json]. Read through fw::tokenizers::loadTokenizer(dir)
// (-> ByteBpeTokenizer::fromVocabMerges); a tokenizer that loads is then run.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fw::fuzz::splitNul(data, size, 3);
  if (parts.size() < 2) return -1;  // not worth keeping in the corpus
  const std::string dir = fw::fuzz::freshDir("bpe-files");
  fw::fuzz::writeFile(dir + "/vocab.json", parts[0]);
  fw::fuzz::writeFile(dir + "/merges.txt", parts[1]);
  if (parts.size() > 2) fw::fuzz::writeFile(dir + "/tokenizer_config.json", parts[2]);
  fw::fuzz::loadAndExerciseTokenizer(dir);
  return 0;
}
