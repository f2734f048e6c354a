// The run index (index.sqlite / runs.sqlite) through fw::runs::RunIndex, as the CLI's `runs` and
// the GUI's runs browser open it. Input: one option byte, then the database file and its WAL,
// each preceded by its 4-byte length (splitSized; no second part: no WAL file). Option bits:
// 0-1 the list filter's status (none, running, finished, interrupted), 2 a text filter, 3 a limit
// of 2, 4 put a valid SQLite header (the 16-byte magic) over the start of the file, so mutations
// further in are not all refused at the magic. Then: open (which migrates), schemaVersion, list,
// get and byFolder of each listed run and of ids 0 and 1, an add, status changes and a finish on
// the first run, reconcile and a remove. Each call may fail with fw::Error on its own.
#include "fuzz_common.h"
#include "runs/run_index.h"

#include <cstring>

namespace {

template <typename F>
void attempt(F&& f) {
  try {
    f();
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fw::runs;
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const auto parts = fw::fuzz::splitSized(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), 2);
  const std::string dir = fw::fuzz::freshDir("index");
  const std::string db = dir + "/index.sqlite";
  std::string file(parts.empty() ? std::string_view() : parts[0]);
  if (flags & 16) {
    static const char magic[] = "SQLite format 3";  // 16 bytes with its NUL
    if (file.size() < sizeof magic) file.resize(sizeof magic);
    std::memcpy(file.data(), magic, sizeof magic);
  }
  fw::fuzz::writeFile(db, file);
  if (parts.size() > 1) fw::fuzz::writeFile(db + "-wal", parts[1]);
  try {
    RunIndex index = RunIndex::open(db);
    attempt([&] {
      if (index.schemaVersion() != RunIndex::kSchemaVersion) std::abort();
    });
    RunFilter filter;
    static const std::optional<RunStatus> statuses[] = {std::nullopt, RunStatus::Running, RunStatus::Finished,
                                                        RunStatus::Interrupted};
    filter.status = statuses[flags & 3];
    if (flags & 4) filter.text = "a_%";
    if (flags & 8) filter.limit = 2;
    std::vector<RunRecord> runs;
    attempt([&] { runs = index.list(filter); });
    if (filter.limit > 0 && runs.size() > 2) std::abort();
    attempt([&] { (void)index.list(); });
    for (size_t i = 0; i < runs.size() && i < 4; ++i) {
      attempt([&] { (void)index.get(runs[i].id); });
      attempt([&] { (void)index.byFolder(runs[i].folder.empty() ? "/" : runs[i].folder); });
    }
    attempt([&] { (void)index.get(0); });
    attempt([&] { (void)index.get(1); });
    attempt([&] { (void)index.byFolder(dir + "/runs/new"); });
    int64_t added = 0;
    attempt([&] {
      RunRecord r;
      r.folder = dir + "/runs/new";
      r.name = "fuzz";
      r.experiment = {{"name", "fuzz"}, {"epochs", 1}};
      r.model = "vit-tiny";
      r.dataset = "fashion-mnist";
      r.methods = {"fourierft", "lora"};
      r.status = RunStatus::Running;
      added = index.add(r);
    });
    const int64_t first = runs.empty() ? 1 : runs.front().id;
    attempt([&] { index.setStatus(first, RunStatus::Running); });
    attempt([&] { index.finish(first, {{"fourierft", {{"accuracy", 0.5}}}}, RunStatus::Finished); });
    if (added) attempt([&] { index.setStatus(added, RunStatus::Failed, "fuzz"); });
    attempt([&] { (void)index.reconcile(); });
    attempt([&] { (void)index.remove(first); });
    attempt([&] { (void)index.list(); });
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
