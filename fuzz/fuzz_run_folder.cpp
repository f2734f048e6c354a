// A run folder's files through fw::runs::RunFolder: the input is experiment.json NUL
// summary.json NUL metrics.jsonl (a missing part: that file is absent). Opens the folder and
// reads the experiment, the summary, the status, the metrics (torn lines counted) and the
// checkpoint list, as the CLI's `runs`/`eval` and the GUI's runs browser do.
#include "fuzz_common.h"
#include "runs/metrics_file.h"
#include "runs/run_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fw::fuzz::splitNul(data, size, 3);
  const std::string dir = fw::fuzz::freshDir("run");
  fw::fuzz::writeFile(dir + "/experiment.json", parts[0]);
  if (parts.size() > 1) fw::fuzz::writeFile(dir + "/summary.json", parts[1]);
  if (parts.size() > 2) fw::fuzz::writeFile(dir + "/metrics.jsonl", parts[2]);
  try {
    fw::runs::RunFolder run = fw::runs::RunFolder::open(dir);
    try {
      (void)run.readExperiment();
    } catch (const fw::Error& e) {
      fw::fuzz::note(e);
    }
    try {
      (void)run.readSummary();
      (void)fw::runs::statusName(run.status());
    } catch (const fw::Error& e) {
      fw::fuzz::note(e);
    }
    int64_t torn = 0;
    (void)run.readMetrics(&torn);
    (void)run.checkpoints();
    (void)run.latestCheckpoint();
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
