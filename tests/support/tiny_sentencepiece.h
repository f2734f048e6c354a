#pragma once
// Test data shared by the tokenizer and CLI suites (no Qt, no LibTorch).
#include <cstdint>
#include <cstring>
#include <string>

namespace fw::test {

// A tiny SentencePiece BPE model written as protobuf by hand (sentencepiece_model.proto):
// identity normalizer with a dummy prefix, <unk> <s> </s>, and merges ordered by score so that
// "hello world" becomes ▁hello ▁world.
inline std::string tinySentencePieceModel() {
  auto varint = [](std::string& out, uint64_t v) {
    while (v >= 0x80) { out.push_back(static_cast<char>((v & 0x7F) | 0x80)); v >>= 7; }
    out.push_back(static_cast<char>(v));
  };
  auto key = [&](std::string& out, int field, int wire) { varint(out, static_cast<uint64_t>(field << 3 | wire)); };
  auto bytesField = [&](std::string& out, int field, const std::string& bytes) {
    key(out, field, 2);
    varint(out, bytes.size());
    out += bytes;
  };
  auto intField = [&](std::string& out, int field, uint64_t v) { key(out, field, 0); varint(out, v); };
  auto floatField = [&](std::string& out, int field, float f) {
    key(out, field, 5);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  };
  struct Piece { const char* text; float score; int type; };  // type 1 normal, 2 unknown, 3 control
  const Piece pieces[] = {
      {"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3},
      {"he", -1, 1}, {"ll", -2, 1}, {"hell", -3, 1}, {"hello", -4, 1}, {"\xE2\x96\x81hello", -5, 1},
      {"or", -6, 1}, {"\xE2\x96\x81w", -7, 1}, {"\xE2\x96\x81wor", -8, 1}, {"ld", -8.5f, 1},
      {"\xE2\x96\x81world", -9, 1}, {"\xE2\x96\x81", -10, 1}, {"h", -11, 1}, {"e", -12, 1},
      {"l", -13, 1}, {"o", -14, 1}, {"w", -15, 1}, {"r", -16, 1}, {"d", -17, 1}};
  std::string model;
  for (const Piece& p : pieces) {
    std::string m;
    bytesField(m, 1, p.text);
    floatField(m, 2, p.score);
    intField(m, 3, static_cast<uint64_t>(p.type));
    bytesField(model, 1, m);
  }
  std::string trainer;
  intField(trainer, 3, 2);  // model_type BPE
  intField(trainer, 4, sizeof(pieces) / sizeof(pieces[0]));
  bytesField(model, 2, trainer);
  std::string normalizer;
  bytesField(normalizer, 1, "identity");
  intField(normalizer, 3, 1);  // add_dummy_prefix
  intField(normalizer, 4, 0);  // remove_extra_whitespaces
  intField(normalizer, 5, 1);  // escape_whitespaces
  bytesField(model, 3, normalizer);
  return model;
}

}  // namespace fw::test
