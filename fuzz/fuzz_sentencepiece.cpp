// A SentencePiece tokenizer.model (LLaMA's) through fw::tokenizers::loadTokenizer(dir), as the
// application reads it: SentencePieceTokenizer::fromModelFile -> SentencePieceModel -> the
// plugin (libfw_sentencepiece.so, built beside this target) -> libsentencepiece. A tokenizer
// that loads is then run. The input is 1 length byte N, N bytes of tokenizer_config.json (none
// when N is 0), then tokenizer.model (a protobuf: it holds NUL bytes, so no NUL split here).
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t n = std::min<size_t>(data[0], size - 1);
  const std::string dir = fw::fuzz::freshDir("sentencepiece");
  if (n > 0) fw::fuzz::writeFile(dir + "/tokenizer_config.json", std::string_view(reinterpret_cast<const char*>(data + 1), n));
  fw::fuzz::writeFile(dir + "/tokenizer.model", std::string_view(reinterpret_cast<const char*>(data + 1 + n), size - 1 - n));
  fw::fuzz::loadAndExerciseTokenizer(dir);
  return 0;
}
