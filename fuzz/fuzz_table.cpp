// CSV, TSV and JSONL tables through fw::data::loadTable. The first two bytes pick the format
// (explicit or by extension), classification or regression, an explicit label set or not, a
// header or not, TSV quoting, the bad-row policy, max length and the column mapping; the rest
// is the file.
#include "data/table.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto& tok = fw::fuzz::datasetTokenizer();
  const uint8_t a = data[0], b = data[1];
  static const char* exts[] = {"csv", "tsv", "jsonl", "tab"};
  const std::string path = fw::fuzz::scratchDir() + "/table." + exts[a & 3];
  fw::data::TableOptions opt;
  opt.format = (a & 4) ? fw::data::TableFormat::Auto
                       : static_cast<fw::data::TableFormat>(1 + (a & 3) % 3);  // Csv, Tsv, Jsonl
  opt.kind = (a & 8) ? fw::data::TaskKind::Regression : fw::data::TaskKind::Classification;
  if (a & 16) opt.labels = {"negative", "positive", "0"};
  opt.header = !(a & 32);
  opt.tsvQuoting = a & 64;
  opt.badRows = (a & 128) ? fw::data::BadRows::Skip : fw::data::BadRows::Fail;
  opt.maxLength = (b & 1) ? 6 : 0;
  static const char* texts[] = {"sentence", "text", "0", "sentence1"};
  static const char* pairs[] = {"", "sentence2", "1", "hypothesis"};
  static const char* labels[] = {"label", "", "1", "score"};
  fw::data::ColumnMapping cols;
  cols.text = texts[(b >> 1) & 3];
  cols.textPair = pairs[(b >> 3) & 3];
  cols.label = labels[(b >> 5) & 3];
  fw::fuzz::writeFile(path, std::string_view(reinterpret_cast<const char*>(data + 2), size - 2));
  try {
    fw::data::Dataset ds = fw::data::loadTable(path, cols, tok, opt);
    if (opt.kind == fw::data::TaskKind::Classification)
      for (const auto& ex : ds.examples)
        if (ex.hasLabel && (ex.label < 0 || ex.label >= ds.numLabels)) std::abort();
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
