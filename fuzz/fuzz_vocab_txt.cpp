// WordPiece vocab.txt, with an optional tokenizer_config.json beside it: the input is
// vocab.txt [NUL tokenizer_config.json [NUL special_tokens_map.json]]. Read through
// fw::tokenizers::loadTokenizer(dir) (-> WordPieceTokenizer::fromVocabTxt); a tokenizer that
// loads is then run.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fw::fuzz::splitNul(data, size, 3);
  const std::string dir = fw::fuzz::freshDir("vocab-txt");
  fw::fuzz::writeFile(dir + "/vocab.txt", parts[0]);
  if (parts.size() > 1) fw::fuzz::writeFile(dir + "/tokenizer_config.json", parts[1]);
  if (parts.size() > 2) fw::fuzz::writeFile(dir + "/special_tokens_map.json", parts[2]);
  fw::fuzz::loadAndExerciseTokenizer(dir);
  return 0;
}
