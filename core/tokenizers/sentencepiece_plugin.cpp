// libfw_sentencepiece.so: libsentencepiece behind a C interface (sentencepiece_plugin.h).
#include "tokenizers/sentencepiece_plugin.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

struct FwSpm {
  sentencepiece::SentencePieceProcessor sp;
};

namespace {
void copyOut(const std::string& s, char* buf, size_t cap) {
  if (!buf || cap == 0) return;
  const size_t n = std::min(s.size(), cap - 1);
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
}

// libsentencepiece also throws C++ exceptions (darts_clone, building the piece trie: "failed to
// insert key: zero-length key" for a piece that starts with a NUL byte; found by fuzzing). None
// may cross the C interface: the caller gets the words, without darts' source location.
void copyException(char* err, size_t errCap) {
  try {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    const auto at = what.find("exception: ");
    copyOut(at == std::string::npos ? what : what.substr(at + 11), err, errCap);
  } catch (...) {
    copyOut("unknown exception in libsentencepiece", err, errCap);
  }
}
}  // namespace

extern "C" {

FwSpm* fwspm_load(const char* bytes, size_t size, char* err, size_t errCap) {
  try {
    auto m = std::make_unique<FwSpm>();
    const auto status = m->sp.LoadFromSerializedProto(std::string_view(bytes, size));
    if (!status.ok()) {
      copyOut(status.message() ? status.message() : "unknown error", err, errCap);
      return nullptr;
    }
    return m.release();
  } catch (...) {
    copyException(err, errCap);
    return nullptr;
  }
}

void fwspm_free(FwSpm* m) { delete m; }
int fwspm_piece_size(const FwSpm* m) { return m->sp.GetPieceSize(); }

void fwspm_special_ids(const FwSpm* m, int out[4]) {
  out[0] = m->sp.bos_id();
  out[1] = m->sp.eos_id();
  out[2] = m->sp.pad_id();
  out[3] = m->sp.unk_id();
}

int fwspm_piece_to_id(const FwSpm* m, const char* piece, size_t size) {
  return m->sp.PieceToId(std::string_view(piece, size));
}

size_t fwspm_id_to_piece(const FwSpm* m, int id, char* buf, size_t cap) {
  const std::string& p = m->sp.IdToPiece(id);
  if (buf && cap) std::memcpy(buf, p.data(), std::min(p.size(), cap));
  return p.size();
}

int fwspm_is_unknown(const FwSpm* m, int id) { return m->sp.IsUnknown(id) ? 1 : 0; }
int fwspm_is_control(const FwSpm* m, int id) { return m->sp.IsControl(id) ? 1 : 0; }

long fwspm_encode(const FwSpm* m, const char* text, size_t size, int* ids, size_t cap, char* err, size_t errCap) {
  try {
    std::vector<int> out;
    const auto status = m->sp.Encode(std::string_view(text, size), &out);
    if (!status.ok()) {
      copyOut(status.ToString(), err, errCap);
      return -1;
    }
    if (ids) std::copy_n(out.begin(), std::min(out.size(), cap), ids);
    return long(out.size());
  } catch (...) {
    copyException(err, errCap);
    return -1;
  }
}

long fwspm_decode(const FwSpm* m, const int* ids, size_t n, char* out, size_t cap, char* err, size_t errCap) {
  try {
    std::string text;
    const auto status = m->sp.Decode(std::vector<int>(ids, ids + n), &text);
    if (!status.ok()) {
      copyOut(status.ToString(), err, errCap);
      return -1;
    }
    if (out && cap) std::memcpy(out, text.data(), std::min(text.size(), cap));
    return long(text.size());
  } catch (...) {
    copyException(err, errCap);
    return -1;
  }
}

}
