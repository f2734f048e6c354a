// Tokenizes every sentence of GLUE SST-2's train.tsv with the real GPT-2 tokenizer and prints
// one JSON line: {"rows": N, "tokens": N, "seconds": S} (tokenizing only, not loading).
// Arguments (optional): tokenizer folder, TSV file.
#include "tokenizers/tokenizer.h"
#include "util/error.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const char* env = std::getenv("FW_SHARED_DIR");
  const std::string shared = env && *env ? env : (std::string(FW_SHARED_DIR).empty() ? "/work/shared" : FW_SHARED_DIR);
  const std::string dir = argc > 1 ? argv[1] : shared + "/data/tokenizers/gpt2";
  const std::string tsv = argc > 2 ? argv[2] : shared + "/data/glue/SST-2/train.tsv";
  try {
    const auto tok = fw::tokenizers::loadTokenizer(dir);
    std::ifstream in(tsv);
    if (!in) throw fw::Error("cannot open file").file(tsv);
    std::string line;
    std::getline(in, line);
    // The column named "sentence" in the header.
    size_t column = 0, pos = 0;
    for (size_t i = 0;; ++i) {
      const size_t tab = line.find('\t', pos);
      const std::string name = line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos);
      if (name == "sentence" || (name.size() > 8 && name.rfind("sentence", 0) == 0 && name.back() == '\r')) { column = i; break; }
      if (tab == std::string::npos) throw fw::Error("no 'sentence' column in the header").file(tsv).line(1);
      pos = tab + 1;
    }
    std::vector<std::string> sentences;
    while (std::getline(in, line)) {
      size_t start = 0;
      for (size_t i = 0; i < column && start != std::string::npos; ++i) {
        start = line.find('\t', start);
        if (start != std::string::npos) ++start;
      }
      if (start == std::string::npos) continue;
      const size_t end = line.find('\t', start);
      sentences.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    }
    size_t tokens = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::string& s : sentences) tokens += tok->encode(s).ids.size();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"rows\": %zu, \"tokens\": %zu, \"seconds\": %.3f}\n", sentences.size(), tokens, seconds);
  } catch (const std::exception& e) {
    std::cerr << "bench_tokenize: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
