#pragma once
// A SentencePiece model through the plugin (sentencepiece_plugin.h explains why a plugin).
#include <memory>
#include <string>
#include <vector>

struct FwSpm;

namespace fw::tokenizers {

class SentencePieceModel {
public:
  // Parses a serialized ModelProto. Throws fw::Error naming `source` when the plugin cannot be
  // loaded or the bytes are not a model.
  SentencePieceModel(const std::string& bytes, const std::string& source);
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  int pieceSize() const;
  int bosId() const { return ids_[0]; }  // negative: none
  int eosId() const { return ids_[1]; }
  int padId() const { return ids_[2]; }
  int pieceToId(const std::string& piece) const;
  std::string idToPiece(int id) const;
  bool isUnknown(int id) const;
  bool isControl(int id) const;
  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;

  // Where the plugin is looked for, in order (for error messages and docs).
  static std::vector<std::string> pluginCandidates();

private:
  FwSpm* m_ = nullptr;
  int ids_[4] = {-1, -1, -1, -1};
  std::string source_;
};

}  // namespace fw::tokenizers
