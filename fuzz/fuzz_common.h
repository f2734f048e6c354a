#pragma once
// Shared by the fuzz targets: a per-process scratch folder for readers that take a path, input
// splitting, and the checks run on whatever a reader returns. Every reader must fail with
// fw::Error; anything else (a crash, a sanitizer report, another exception escaping, a leak, a
// timeout) is a finding.
#include "tokenizers/tokenizer.h"
#include "util/error.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fw::fuzz {

// $FW_FUZZ_TMPDIR, /dev/shm or $TMPDIR (in that order) / fw-fuzz-<pid>; removed at exit.
inline const std::string& scratchDir() {
  static const std::string dir = [] {
    std::string base;
    if (const char* env = std::getenv("FW_FUZZ_TMPDIR"); env && *env) base = env;
    else if (std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    else if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) base = tmp;
    else base = "/tmp";
    std::string d = base + "/fw-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    static struct Cleanup {
      std::string path;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      }
    } cleanup{d};
    return d;
  }();
  return dir;
}

// FW_FUZZ_VERBOSE=1 prints each rejected input's error (to check that seeds load).
inline void note(const Error& e) {
  static const bool verbose = std::getenv("FW_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "fw::Error: %s\n", e.what());
}

// A clean sub-folder of the scratch folder (emptied on every call).
inline std::string freshDir(const std::string& name) {
  const std::string d = scratchDir() + "/" + name;
  std::error_code ec;
  std::filesystem::remove_all(d, ec);
  std::filesystem::create_directories(d);
  return d;
}

inline void writeFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// Splits at each NUL byte into at most `parts` pieces (the last keeps any further NULs).
inline std::vector<std::string_view> splitNul(const uint8_t* data, size_t size, size_t parts) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> out;
  while (out.size() + 1 < parts) {
    const size_t nul = all.find('\0');
    if (nul == std::string_view::npos) break;
    out.push_back(all.substr(0, nul));
    all.remove_prefix(nul + 1);
  }
  out.push_back(all);
  return out;
}

// Splits binary files (safetensors hold NUL bytes): up to `parts` pieces, each preceded by its
// length (4 bytes, little-endian); a length past the end takes what is left.
inline std::vector<std::string_view> splitSized(std::string_view all, size_t parts) {
  std::vector<std::string_view> out;
  while (out.size() < parts && all.size() >= 4) {
    const auto* b = reinterpret_cast<const unsigned char*>(all.data());
    const size_t n = std::min<size_t>(all.size() - 4, b[0] | b[1] << 8 | b[2] << 16 | size_t(b[3]) << 24);
    out.push_back(all.substr(4, n));
    all.remove_prefix(4 + n);
  }
  return out;
}

// Runs a loaded tokenizer over fixed texts and decodes the results and arbitrary ids: a
// tokenizer that loads must also work.
inline void exerciseTokenizer(const tokenizers::Tokenizer& tok) {
  static const std::string texts[] = {
      "Hello world, it's a test.", " héllo  WORLD\t日本語 ümlaut\xe2\x80\x8b", "[CLS] <|endoftext|> <s> </s> [UNK]",
      "unaffable!!! 12345 ...", std::string("a\0b\xff\xfe c", 7), ""};
  for (const std::string& t : texts) {
    tokenizers::Encoding e = tok.encode(t);
    (void)tok.decode(e.ids);
    (void)tok.decode(e.ids, false);
  }
  tokenizers::EncodeOptions opt;
  opt.maxLength = 7;
  opt.padTo = 9;
  tokenizers::Encoding pair = tok.encode(texts[0], &texts[1], opt);
  (void)tok.decode(pair.ids);
  const int64_t n = static_cast<int64_t>(tok.vocabSize());
  std::vector<int64_t> ids{0, 1, n - 1, n, n + 1, -1, tok.padId()};
  (void)tok.decode(ids, false);
  for (int64_t id : ids)
    if (auto s = tok.idToToken(id)) (void)tok.tokenToId(*s);
  (void)tok.numSpecialTokens(true);
}

// Loads the tokenizer folder `dir` as the application does and runs it; a refusal is noted.
inline void loadAndExerciseTokenizer(const std::string& dir) {
  try {
    auto tok = tokenizers::loadTokenizer(dir);
    exerciseTokenizer(*tok);
  } catch (const Error& e) {
    note(e);
  }
}

// A small WordPiece tokenizer (vocab.txt) for the dataset readers, loaded once.
inline const tokenizers::Tokenizer& datasetTokenizer() {
  static const std::unique_ptr<tokenizers::Tokenizer> tok = [] {
    const std::string dir = scratchDir() + "/dataset-tokenizer";
    std::filesystem::create_directories(dir);
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (char c = 'a'; c <= 'z'; ++c) vocab += std::string(1, c) + "\n##" + std::string(1, c) + "\n";
    for (char c = '0'; c <= '9'; ++c) vocab += std::string(1, c) + "\n";
    vocab += ".\n,\n!\n?\n'\n\"\n-\nthe\nof\nand\nis\nnot\n";
    writeFile(dir + "/vocab.txt", vocab);
    return tokenizers::loadTokenizer(dir);
  }();
  return *tok;
}

}  // namespace fw::fuzz
