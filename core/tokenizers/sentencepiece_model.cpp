#include "tokenizers/sentencepiece_model.h"

#include "tokenizers/sentencepiece_plugin.h"
#include "util/error.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace fw::tokenizers {

namespace {

struct Plugin {
  decltype(&fwspm_load) load = nullptr;
  decltype(&fwspm_free) free = nullptr;
  decltype(&fwspm_piece_size) pieceSize = nullptr;
  decltype(&fwspm_special_ids) specialIds = nullptr;
  decltype(&fwspm_piece_to_id) pieceToId = nullptr;
  decltype(&fwspm_id_to_piece) idToPiece = nullptr;
  decltype(&fwspm_is_unknown) isUnknown = nullptr;
  decltype(&fwspm_is_control) isControl = nullptr;
  decltype(&fwspm_encode) encode = nullptr;
  decltype(&fwspm_decode) decode = nullptr;
  std::string error;  // why loading failed
};

const Plugin& plugin() {
  static Plugin p;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& path : SentencePieceModel::pluginCandidates()) {
      if (!std::filesystem::exists(path)) {
        tried += (tried.empty() ? "" : ", ") + path;
        continue;
      }
      // Local and deep-bound: its protobuf copy and LibTorch's never see each other.
#ifndef FW_SANITIZE
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#else
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // AddressSanitizer refuses RTLD_DEEPBIND
#endif
      if (!h) {
        tried += (tried.empty() ? "" : ", ") + path + " (" + dlerror() + ")";
        continue;
      }
      auto sym = [&](auto& fn, const char* name) { fn = reinterpret_cast<std::decay_t<decltype(fn)>>(dlsym(h, name)); };
      sym(p.load, "fwspm_load");
      sym(p.free, "fwspm_free");
      sym(p.pieceSize, "fwspm_piece_size");
      sym(p.specialIds, "fwspm_special_ids");
      sym(p.pieceToId, "fwspm_piece_to_id");
      sym(p.idToPiece, "fwspm_id_to_piece");
      sym(p.isUnknown, "fwspm_is_unknown");
      sym(p.isControl, "fwspm_is_control");
      sym(p.encode, "fwspm_encode");
      sym(p.decode, "fwspm_decode");
      if (p.load && p.free && p.pieceSize && p.specialIds && p.pieceToId && p.idToPiece && p.isUnknown && p.isControl &&
          p.encode && p.decode)
        return;
      tried += (tried.empty() ? "" : ", ") + path + " (missing functions)";
      p.load = nullptr;
    }
    p.error = "tried " + tried;
  });
  return p;
}

}  // namespace

std::vector<std::string> SentencePieceModel::pluginCandidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("FW_SENTENCEPIECE_PLUGIN"); env && *env) out.emplace_back(env);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back((exe.parent_path() / "../lib/fourier-workbench/libfw_sentencepiece.so").lexically_normal().string());
    out.push_back((exe.parent_path() / "libfw_sentencepiece.so").string());
  }
#ifdef FW_SENTENCEPIECE_PLUGIN_BUILD
  out.emplace_back(FW_SENTENCEPIECE_PLUGIN_BUILD);
#endif
#ifdef FW_SENTENCEPIECE_PLUGIN_INSTALL
  out.emplace_back(FW_SENTENCEPIECE_PLUGIN_INSTALL);
#endif
  return out;
}

SentencePieceModel::SentencePieceModel(const std::string& bytes, const std::string& source) : source_(source) {
  const auto& p = plugin();
  if (!p.load)
    throw Error("the SentencePiece plugin libfw_sentencepiece.so cannot be loaded").file(source)
        .hint(p.error + "; set FW_SENTENCEPIECE_PLUGIN to its path");
  char err[512] = {0};
  m_ = p.load(bytes.data(), bytes.size(), err, sizeof err);
  if (!m_) throw Error(err);  // the caller turns this into a message naming the file
  p.specialIds(m_, ids_);
}

SentencePieceModel::~SentencePieceModel() {
  if (m_) plugin().free(m_);
}

int SentencePieceModel::pieceSize() const { return plugin().pieceSize(m_); }
int SentencePieceModel::pieceToId(const std::string& piece) const { return plugin().pieceToId(m_, piece.data(), piece.size()); }
bool SentencePieceModel::isUnknown(int id) const { return plugin().isUnknown(m_, id) != 0; }
bool SentencePieceModel::isControl(int id) const { return plugin().isControl(m_, id) != 0; }

std::string SentencePieceModel::idToPiece(int id) const {
  std::string out(64, '\0');
  size_t n = plugin().idToPiece(m_, id, out.data(), out.size());
  if (n > out.size()) {
    out.resize(n);
    plugin().idToPiece(m_, id, out.data(), out.size());
  }
  out.resize(n);
  return out;
}

std::vector<int> SentencePieceModel::encode(const std::string& text) const {
  std::vector<int> ids(text.size() + 16);
  char err[512] = {0};
  long n = plugin().encode(m_, text.data(), text.size(), ids.data(), ids.size(), err, sizeof err);
  if (n < 0) throw Error(std::string("SentencePiece could not encode the text: ") + err).file(source_);
  if (size_t(n) > ids.size()) {
    ids.resize(size_t(n));
    n = plugin().encode(m_, text.data(), text.size(), ids.data(), ids.size(), err, sizeof err);
  }
  ids.resize(size_t(n));
  return ids;
}

std::string SentencePieceModel::decode(const std::vector<int>& ids) const {
  std::string out(ids.size() * 8 + 16, '\0');
  char err[512] = {0};
  long n = plugin().decode(m_, ids.data(), ids.size(), out.data(), out.size(), err, sizeof err);
  if (n < 0) throw Error(std::string("SentencePiece could not decode: ") + err).file(source_);
  if (size_t(n) > out.size()) {
    out.resize(size_t(n));
    n = plugin().decode(m_, ids.data(), ids.size(), out.data(), out.size(), err, sizeof err);
  }
  out.resize(size_t(n));
  return out;
}

}  // namespace fw::tokenizers
