// The fourierft command line as a user runs it: real processes, their output and exit codes.
#include "io/safetensors.h"
#include "runs/run_folder.h"
#include "runs/run_index.h"
#include "support/cli_process.h"
#include "support/test_support.h"
#include "support/tiny_sentencepiece.h"
#include "util/files.h"

#include <QRegularExpression>
#include <QThread>

#include <csignal>
#include <fstream>
#include <unistd.h>

namespace {

fw::test::CliRun fourierft(const QStringList& args) { return fw::test::runCli(args); }

QString fixture(const char* rel) { return QString::fromStdString(fw::test::sharedPath(std::string("fixtures/hf/") + rel)); }

const char* kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// FourierFT on a one-layer ViT, a checkpoint after every step (32 steps an epoch); with
// `pretrain`, on a base trained first and cached in <experiment folder>/base, so that the run
// can be exported.
nlohmann::json tinyExperiment(int epochs, bool pretrain = false) {
  const nlohmann::json data = {{"kind", "idx_images"}, {"train", kImages}, {"classes", {0, 1}}, {"train_limit", 256}};
  nlohmann::json e = {
      {"schema_version", 1}, {"name", "tiny"},
      {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
      {"dataset", data},
      {"methods", {{{"type", "fourierft"}, {"n_frequency", 50}, {"scaling", 16.0}, {"lr", 0.1}, {"target_modules", {"query"}}}}},
      {"trainable_modules", {"classifier"}}, {"batch_size", 8}, {"epochs", epochs}, {"checkpoint_every", 1},
      {"device", "cpu"}, {"seed", 3}};
  if (pretrain) e["model"]["pretrain"] = {{"dataset", data}, {"epochs", 1}, {"batch_size", 32}, {"cache", "base"}};
  return e;
}

nlohmann::json summaryOf(const QString& run) {
  std::ifstream in((run + "/summary.json").toStdString());
  return nlohmann::json::parse(in, nullptr, false);
}

// The one run folder under `runsDir` once its method has completed checkpoint `step` (empty
// after a minute without).
QString runPastCheckpoint(const QString& runsDir, int64_t step, const QString& method = "fourierft") {
  for (int i = 0; i < 3000; ++i) {
    const QString run = fw::test::onlyRunFolder(runsDir);
    if (!run.isEmpty() && QFile::exists(run + "/experiment.json")) {
      const auto latest = fw::runs::RunFolder::open(run.toStdString()).latestCheckpoint(method.toStdString());
      if (latest && latest->step >= step) return run;
    }
    QThread::msleep(20);
  }
  return {};
}

std::optional<fw::runs::RunRecord> indexRecord(const QString& index, const QString& run) {
  return fw::runs::RunIndex::open(index.toStdString()).byFolder(run.toStdString());
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT
private slots:
  void versionAndHelp();
  void unknownCommandFails();
  void adapterInfo();
  void adapterInfoErrorNamesTheFile();
  void tokenizeWordPieceAndSentencePiece();
  void tokenizeMissingFolder();
  void forwardMatchesTransformers();
  void benchLayerPrintsJson();
  void benchModelPrintsJson();
  void selftestPasses();
  void crashPrintsAReport();
  void trainRunsEvalExport();
  void trainLaunchOptionsChecked();
  void numericOptionsChecked();
  void badPathsToldBeforeAnything();
  void resumeTakesOverAKilledRun();
  void stopWithSeveralProcesses_data();
  void stopWithSeveralProcesses();
  void exportRefusesAFolderInUse();
};

void TestCli::versionAndHelp() {
  auto v = fourierft({"--version"});
  QCOMPARE(v.code, 0);
  QVERIFY2(v.out.startsWith("fourierft 0.1.0 (LibTorch "), qPrintable(v.out));
  auto h = fourierft({"--help"});
  QCOMPARE(h.code, 0);
  for (const char* verb : {"adapter", "bench-layer", "selftest", "forward", "tokenize"}) QVERIFY2(h.out.contains(verb), verb);
}

void TestCli::unknownCommandFails() {
  auto r = fourierft({"frobnicate"});
  QCOMPARE(r.code, 2);  // a usage error
  QVERIFY2((r.out + r.err).contains("frobnicate"), qPrintable(r.out + r.err));
  QCOMPARE(fourierft({}).code, 2);  // a command is required
  // An unknown --status is refused even when there is no index to list.
  auto status = fourierft({"runs", "--index", "/nonexistent/runs.sqlite", "--status", "bogus"});
  QVERIFY2(status.code == 1 && status.err.contains("unknown status 'bogus'"), qPrintable(status.err));
}

void TestCli::adapterInfo() {
  if (fixture("roberta/fourierft").isEmpty()) QSKIP("../shared/fixtures/hf not found");
  auto r = fourierft({"adapter", "info", fixture("roberta/fourierft")});
  QCOMPARE(r.code, 0);
  QVERIFY2(r.out.contains("method:     FourierFT (peft_type FOURIERFT)"), qPrintable(r.out));
  QVERIFY2(r.out.contains("roberta.encoder.layer.1.attention.self.value  n=48  params=48"), qPrintable(r.out));
  auto j = fourierft({"adapter", "info", fixture("llama/lora"), "--json"});
  QCOMPARE(j.code, 0);
  auto parsed = nlohmann::json::parse(j.out.toStdString());
  QCOMPARE(parsed["method"].get<std::string>(), std::string("lora"));
  QCOMPARE(parsed["trainable"].get<int64_t>(), int64_t(2 * (4 * 32 + 32 * 4) + 2 * (4 * 32 + 16 * 4)));
}

void TestCli::adapterInfoErrorNamesTheFile() {
  auto r = fourierft({"adapter", "info", "/nonexistent/adapter"});
  QCOMPARE(r.code, 1);
  QVERIFY2(r.err.startsWith("error: /nonexistent/adapter: adapter folder not found"), qPrintable(r.err));
}

void TestCli::tokenizeWordPieceAndSentencePiece() {
  const auto bert = QString::fromStdString(fw::test::sharedPath("data/tokenizers/bert-base-uncased"));
  if (bert.isEmpty()) QSKIP("../shared/data/tokenizers not found");
  auto r = fourierft({"tokenize", "--tokenizer", bert, "Hello world!", "--pair", "Second one"});
  QCOMPARE(r.code, 0);
  QCOMPARE(r.out.trimmed(), QString("[101,7592,2088,999,102,2117,2028,102]"));
  // SentencePiece runs through its plugin inside a program that links LibTorch (whose protobuf
  // would otherwise clash with libsentencepiece's).
#ifdef FW_SANITIZE
  QSKIP("AddressSanitizer refuses RTLD_DEEPBIND, which keeps the plugin's protobuf apart from "
        "LibTorch's: SentencePiece inside fourierft is not available in the sanitizer build "
        "(tst_tokenizers covers it without LibTorch)");
#endif
  fw::test::TempDir dir;
  fw::test::writeBytes(dir.file("tokenizer.model"), fw::test::tinySentencePieceModel());
  auto s = fourierft({"tokenize", "--tokenizer", QString::fromStdString(dir.path()), "hello world!", "--tokens"});
  QCOMPARE(s.code, 0);
  auto j = nlohmann::json::parse(s.out.toStdString());
  QCOMPARE(j["ids"].get<std::vector<int64_t>>(), (std::vector<int64_t>{1, 7, 12, 0}));
}

void TestCli::tokenizeMissingFolder() {
  fw::test::TempDir empty;
  auto r = fourierft({"tokenize", "--tokenizer", QString::fromStdString(empty.path()), "x"});
  QCOMPARE(r.code, 1);
  QVERIFY2(r.err.contains(QString::fromStdString(empty.path())) && r.err.contains("tokenizer.model"), qPrintable(r.err));
  // The wrong kind of path, told as such with what to give instead (a tokenizer.json given for its
  // folder said "folder not found"; a folder given as the experiment said "invalid JSON").
  const auto dir = QString::fromStdString(empty.path());
  const auto file = dir + "/tokenizer.json";
  fw::test::writeBytes(file.toStdString(), "{}");
  const QList<QPair<QStringList, QString>> cases{
      {{"tokenize", "--tokenizer", file, "x"}, file + ": field '--tokenizer': a file, not a folder: expected the tokenizer "
                                                      "folder (give the folder that holds it: " + dir + ")"},
      {{"adapter", "info", file}, file + ": field 'DIR': a file, not a folder: expected the adapter folder (give the "
                                          "folder that holds it: " + dir + ")"},
      {{"eval", file}, file + ": field 'RUN': a file, not a folder: expected the run folder"},
      {{"train", dir, "--no-index"}, dir + ": field 'EXPERIMENT': a folder, not a file: expected an experiment file "
                                           "(give its .json file, such as experiments/default.json)"},
      {{"forward", "--model", "vit-fmnist", "--inputs", dir, "--out", dir + "/x.safetensors"},
       dir + ": field '--inputs': a folder, not a file: expected a safetensors file"},
  };
  for (const auto& [args, expected] : cases) {
    auto bad = fourierft(args);
    QVERIFY2(bad.code == 1 && bad.err.startsWith("error: " + expected), qPrintable(args.join(' ') + ": " + bad.err));
  }
}

void TestCli::forwardMatchesTransformers() {
  if (fixture("bert/model").isEmpty()) QSKIP("../shared/fixtures/hf not found");
  fw::test::TempDir out;
  const auto logits = QString::fromStdString(out.file("logits.safetensors"));
  auto r = fourierft({"forward", "--model", fixture("bert/model"), "--adapter", fixture("bert/fourierft"), "--merge",
                      "--inputs", fixture("bert/reference.safetensors"), "--out", logits});
  QVERIFY2(r.code == 0, qPrintable(r.err));
  auto got = fw::io::SafetensorsFile::open(logits.toStdString()).tensor("logits");
  auto want = fw::io::SafetensorsFile::open(fixture("bert/reference.safetensors").toStdString()).tensor("logits_fourierft_merged");
  // Text inputs for an image model: named for what is missing, with the tensors there are.
  auto image = fourierft({"forward", "--model", "vit-fmnist", "--inputs", fixture("bert/reference.safetensors"), "--out", logits});
  QVERIFY2(image.code == 1 && image.err.contains(fixture("bert/reference.safetensors") + ": field '--inputs': the inputs "
                                                 "have no pixel_values, which ViTForImageClassification reads: got tensors ") &&
               image.err.contains("input_ids"),
           qPrintable(image.err));
  QVERIFY(fw::test::maxAbsDiff(got, want) < 1e-4);
  // A wrong flag combination is an error, not a silent no-op.
  auto bad = fourierft({"forward", "--model", fixture("bert/model"), "--merge", "--inputs", fixture("bert/reference.safetensors"),
                        "--out", logits});
  QCOMPARE(bad.code, 1);
  QVERIFY2(bad.err.contains("--merge needs --adapter"), qPrintable(bad.err));
}

void TestCli::benchLayerPrintsJson() {
  auto r = fourierft({"bench-layer", "--d-out", "64", "--d-in", "48", "--tokens", "32", "--n", "100", "--steps", "2", "--warmup", "1"});
  QVERIFY2(r.code == 0, qPrintable(r.err));
  auto j = nlohmann::json::parse(r.out.toStdString());
  QCOMPARE(j["method"].get<std::string>(), std::string("fourierft"));
  QCOMPARE(j["trainable"].get<int64_t>(), int64_t(100));
  QVERIFY(j["ms_median"].get<double>() > 0);
  const auto path = j["path"].get<std::string>();
  QVERIFY2(path == "merged" || path == "spectral", path.c_str());
  auto bad = fourierft({"bench-layer", "--path", "fast"});
  QCOMPARE(bad.code, 1);
  QVERIFY2(bad.err.contains("field '--path'"), qPrintable(bad.err));
}

// `bench` times a preset's layer stack with the adapters where a user of that architecture puts
// them: query and value of an encoder, c_attn of GPT-2 (which has no "query"), with their counts.
void TestCli::benchModelPrintsJson() {
  const QStringList small{"--layers", "1", "--batch", "1", "--seq", "16", "--steps", "1", "--warmup", "0"};
  auto ff = fourierft(QStringList{"bench", "--model", "gpt2", "--n", "100"} + small);
  QVERIFY2(ff.code == 0, qPrintable(ff.err));
  auto j = nlohmann::json::parse(ff.out.toStdString());
  QCOMPARE(j["trainable"].get<int64_t>(), int64_t(100));
  QVERIFY2(j["paths"].contains("transformer.h.0.attn.c_attn") && j["paths"].size() == 1, j.dump().c_str());
  QVERIFY(j["ms_median"].get<double>() > 0);
  auto lora = fourierft(QStringList{"bench", "--model", "gpt2", "--method", "lora", "--r", "4"} + small);
  QVERIFY2(lora.code == 0, qPrintable(lora.err));
  QCOMPARE(nlohmann::json::parse(lora.out.toStdString())["trainable"].get<int64_t>(), int64_t(4 * (768 + 3 * 768)));
  auto bert = fourierft(QStringList{"bench", "--model", "bert-base", "--n", "100"} + small);
  QVERIFY2(bert.code == 0, qPrintable(bert.err));
  QCOMPARE(nlohmann::json::parse(bert.out.toStdString())["trainable"].get<int64_t>(), int64_t(200));  // query, value
  auto unknown = fourierft(QStringList{"bench", "--model", "nosuch"} + small);
  QCOMPARE(unknown.code, 1);
  QVERIFY2(unknown.err.contains("field 'model': unknown model preset 'nosuch'"), qPrintable(unknown.err));
}

void TestCli::selftestPasses() {
  auto r = fourierft({"selftest"});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QVERIFY(r.out.contains("selftest passed"));
  // Every path on every shape, merged with both ways to its spectrum gradient (5 shapes x 4).
  QCOMPARE(r.out.count(QRegularExpression(" (dense|merged/w|merged/r|spectral) .* ok\\n")), 20);
  if (fw::test::sharedPath("fixtures/hf/bert/model").empty()) return;
  // With the fixtures: the adapter folders round-trip and the five models match transformers'
  // logits (base, FourierFT, LoRA, each merged).
  auto f = fourierft({"selftest", "--fixtures", fixture("")});
  QVERIFY2(f.code == 0, qPrintable(f.out + f.err));
  QCOMPARE(f.out.count(QRegularExpression("max \\|diff\\| [0-9.e+-]+  ok\\n")), 25);
}

// A crash after all says what it was and where (app/cli/crash_report.h), and still ends the
// process by its signal.
void TestCli::crashPrintsAReport() {
#if defined(__SANITIZE_ADDRESS__)
  QSKIP("sanitizer build: AddressSanitizer reports crashes instead");
#endif
  QProcess p;
  p.start(FW_CLI_PATH, {"selftest"});
  QVERIFY(p.waitForReadyRead(60000));  // its first line: main() runs, the handler is in place
  QVERIFY(::kill(pid_t(p.processId()), SIGSEGV) == 0);
  QVERIFY(p.waitForFinished(60000));
  QCOMPARE(p.exitStatus(), QProcess::CrashExit);
  const QString err = QString::fromUtf8(p.readAllStandardError());
  for (const char* part : {"fourierft crashed with SIGSEGV (segmentation fault). This is a bug",
                           "please report it with the command and the stack below", "\nat:\n", "\nstack:\n"})
    QVERIFY2(err.contains(part), qPrintable(err));
}

void TestCli::trainRunsEvalExport() {
  const char* images = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  if (!QFile::exists(images)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  fw::test::TempDir tmp;
  const nlohmann::json data = {{"kind", "idx_images"}, {"train", images}, {"eval", images}, {"classes", {0, 1}},
                               {"train_limit", 128}, {"eval_limit", 64}};
  const nlohmann::json e = {
      {"schema_version", 1}, {"name", "cli"},
      {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}},
                 {"pretrain", {{"dataset", data}, {"epochs", 1}, {"batch_size", 32}, {"cache", "base"}}}}},
      {"dataset", data},
      {"methods", {{{"type", "fourierft"}, {"n_frequency", 50}, {"scaling", 16.0}, {"lr", 0.1}, {"target_modules", {"query"}}}}},
      {"trainable_modules", {"classifier"}}, {"batch_size", 32}, {"epochs", 1}, {"device", "cpu"}};
  fw::test::writeBytes(tmp.file("e.json"), e.dump());
  const auto dir = QString::fromStdString(tmp.path());
  const auto index = dir + "/runs.sqlite";
  auto t = fourierft({"train", dir + "/e.json", "--out", dir + "/runs", "--index", index, "--set", "methods.0.name=ff"});
  QVERIFY2(t.code == 0, qPrintable(t.err));
  QVERIFY2(t.err.contains("[ff] eval at step 4"), qPrintable(t.err));  // progress on stderr
  const auto lines = t.out.trimmed().split('\n');
  const auto run = lines.last();
  QVERIFY2(lines.first().contains("method") && lines[1].startsWith("ff") && lines[1].contains("finished"), qPrintable(t.out));
  QVERIFY(QFile::exists(dir + "/base/model.safetensors"));  // "cache": "base" is relative to the experiment file

  auto r = fourierft({"runs", "--index", index});
  QCOMPARE(r.code, 0);
  QVERIFY2(r.out.contains("finished") && r.out.contains("cli"), qPrintable(r.out));
  // The METRIC column: the task's metric for each method, as summary.json has it.
  const auto summary = fw::readJsonFile((run + "/summary.json").toStdString());
  const double acc = summary["methods"]["ff"]["final_metrics"]["accuracy"].get<double>();
  QVERIFY2(r.out.contains(QString::asprintf("accuracy: ff=%.4g", acc)), qPrintable(r.out));

  auto ev = fourierft({"eval", run});
  QVERIFY2(ev.code == 0 && ev.out.startsWith("ff") && ev.out.contains("accuracy"), qPrintable(ev.out + ev.err));
  auto ex = fourierft({"export", run, "--peft", dir + "/peft"});
  QCOMPARE(ex.code, 0);
  auto info = fourierft({"adapter", "info", dir + "/peft"});
  QVERIFY2(info.out.contains("vit.encoder.layer.0.attention.attention.query  n=50"), qPrintable(info.out));

  // analyze: the run's ΔW against its cached base; the exported folder against the same base
  // gives the same figures. Against a preset (random weights here) |dW|/|W0| is left out, with
  // a note, and what depends on the adapter alone stays.
  // The preset's head has other classes, and more layers: for it, the folder without its saved
  // classifier, targeting the one layer trained.
  QVERIFY(QDir().mkpath(dir + "/bare"));
  auto tensors = fw::io::loadSafetensors((dir + "/peft/adapter_model.safetensors").toStdString());
  for (auto it = tensors.begin(); it != tensors.end();)
    it = it->first.find("classifier") != std::string::npos ? tensors.erase(it) : std::next(it);
  fw::io::saveSafetensors((dir + "/bare/adapter_model.safetensors").toStdString(), tensors);
  auto config = fw::readJsonFile((dir + "/peft/adapter_config.json").toStdString());
  config.erase("modules_to_save");
  config["target_modules"] = {"vit.encoder.layer.0.attention.attention.query"};
  fw::test::writeBytes((dir + "/bare/adapter_config.json").toStdString(), config.dump());
  nlohmann::json ofRun, ofFolder, ofPreset;
  for (auto [args, into] : {std::pair{QStringList{"analyze", run, "--json"}, &ofRun},
                            std::pair{QStringList{"analyze", dir + "/peft", "--base", dir + "/base", "--json"}, &ofFolder},
                            std::pair{QStringList{"analyze", dir + "/bare", "--base", "vit-fmnist", "--json"}, &ofPreset}}) {
    auto a = fourierft(args);
    QVERIFY2(a.code == 0, qPrintable(args.join(' ') + ": " + a.err));
    *into = nlohmann::json::parse(a.out.toStdString())["methods"][0];
  }
  QCOMPARE(ofRun.value("method", ""), std::string("ff"));
  const auto layer = ofRun["layers"][0];
  QCOMPARE(layer["name"].get<std::string>(), std::string("vit.encoder.layer.0.attention.attention.query"));
  QVERIFY2(layer["norm_ratio"].is_number() && layer["norm_ratio"].get<double>() > 0, qPrintable(QString::fromStdString(layer.dump())));
  // ΔW is float32: the same figures to float32's rounding (2e-9 apart, seen).
  auto near = [](const nlohmann::json& a, const nlohmann::json& b) {
    return std::abs(a.get<double>() - b.get<double>()) <= 1e-6 * std::abs(b.get<double>());
  };
  QVERIFY2(near(ofFolder["layers"][0]["norm_ratio"], layer["norm_ratio"]), qPrintable(QString::fromStdString(ofFolder.dump())));
  QVERIFY2(near(ofFolder["layers"][0]["effective_rank"], layer["effective_rank"]), qPrintable(QString::fromStdString(ofFolder.dump())));
  QVERIFY2(ofPreset["layers"][0]["norm_ratio"].is_null(), qPrintable(QString::fromStdString(ofPreset.dump())));
  QVERIFY2(near(ofPreset["layers"][0]["effective_rank"], layer["effective_rank"]), qPrintable(QString::fromStdString(ofPreset.dump())));
  QVERIFY2(ofPreset.value("note", "").find("|dW|/|W0| left out: the preset 'vit-fmnist' has random weights") == 0,
           qPrintable(QString::fromStdString(ofPreset.dump())));
  // A method the run did not finish (a stopped run) is named and left out, not an error about
  // a missing adapter folder; with none finished, eval fails and says how to go on.
  auto stopped = summary;
  stopped["methods"]["ff"]["status"] = "stopped";
  fw::test::writeBytes((run + "/summary.json").toStdString(), stopped.dump());
  auto partial = fourierft({"eval", run});
  QCOMPARE(partial.code, 1);
  QVERIFY2(partial.out.startsWith("ff") && partial.out.contains("not evaluated: stopped (fourierft train --resume"),
           qPrintable(partial.out));
  QVERIFY2(partial.err.contains("no method of the run finished"), qPrintable(partial.err));
  // analyze likewise (it stopped at the first method without an adapter, analysing none).
  auto partialAnalysis = fourierft({"analyze", run});
  QCOMPARE(partialAnalysis.code, 1);
  QVERIFY2(partialAnalysis.out.startsWith("ff (fourierft): " + run) &&
               partialAnalysis.out.contains("not analysed: stopped (fourierft train --resume " + run + " trains it)"),
           qPrintable(partialAnalysis.out));
  QVERIFY2(partialAnalysis.err.contains("no method of the run finished"), qPrintable(partialAnalysis.err));
  fw::test::writeBytes((run + "/summary.json").toStdString(), summary.dump());

  auto bad = fourierft({"train", dir + "/e.json", "--set", "epochz=2"});
  QCOMPARE(bad.code, 1);
  QVERIFY2(bad.err.contains("field 'epochz'") && bad.err.contains("e.json"), qPrintable(bad.err));
}

// --nproc, --nnodes and --node-rank are checked also where they would start no workers.
void TestCli::trainLaunchOptionsChecked() {
  const QList<QPair<QStringList, QString>> cases{
      {{"--nproc", "0"}, "--nproc must be at least 1: got 0"},
      {{"--nproc", "-3"}, "--nproc must be at least 1: got -3"},
      {{"--nnodes", "0"}, "--nnodes must be at least 1: got 0"},
      {{"--nnodes", "1", "--node-rank", "5"}, "--node-rank 5 is outside 0..0"},
      {{"--nnodes", "2", "--node-rank", "-1", "--master", "127.0.0.1:29500"}, "--node-rank -1 is outside 0..1"},
  };
  for (const auto& [flags, message] : cases) {
    auto r = fourierft(QStringList{"train", "/nonexistent/e.json", "--no-index"} + flags);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.startsWith("error: ") && r.err.contains(message), qPrintable(flags.join(' ') + ": " + r.err));
  }
}

// Counts and sizes out of range are refused before anything runs (--threads 99999 hung at
// start-up; a negative batch fell back to the default).
void TestCli::numericOptionsChecked() {
  const QList<QPair<QStringList, QString>> cases{
      {{"train", "/nonexistent/e.json", "--no-index", "--threads", "99999"}, "--threads"},
      {{"train", "/nonexistent/e.json", "--no-index", "--threads", "-1"}, "--threads"},
      {{"eval", "/nonexistent/run", "--batch", "-5"}, "--batch"},
      {{"bench-layer", "--steps", "0"}, "--steps"},
      {{"bench-layer", "--warmup", "-3"}, "--warmup"},
      {{"tokenize", "--tokenizer", "/nonexistent", "hello", "--max-length", "-1"}, "--max-length"},
      {{"train", "/nonexistent/e.json", "--no-index", "--timeout", "-5"}, "--timeout"},
      {{"train", "/nonexistent/e.json", "--no-index", "--master", "127.0.0.1:29500"}, "--master"},
  };
  for (const auto& [args, option] : cases) {
    auto r = fourierft(args);
    QVERIFY2(r.code != 0, qPrintable(args.join(' ')));
    QVERIFY2(r.err.contains(option) && !r.err.contains("nonexistent"), qPrintable(args.join(' ') + ": " + r.err));
  }
  // A mistyped or out-of-range option exits 2 (CLI11's codes were 105 to 109), --help 0.
  for (const auto& args : {QStringList{"eval", "/nonexistent/run", "--batchh", "3"},
                           QStringList{"train", "/nonexistent/e.json", "--threads", "-1"}}) {
    auto r = fourierft(args);
    QVERIFY2(r.code == 2, qPrintable(args.join(' ') + ": " + QString::number(r.code) + " " + r.err));
  }
  QCOMPARE(fourierft({"eval", "--help"}).code, 0);
  // An experiment field given as an option: told how to set it.
  auto field = fourierft({"train", "/nonexistent/e.json", "--no-index", "--epochs", "2"});
  QVERIFY2(field.code == 2 && field.err.contains("Experiment fields are set with --set FIELD=VALUE, e.g. --set epochs=2"),
           qPrintable(field.err));
  // fp16 on the CPU: refused before a model is loaded (LibTorch failed half-way, in LayerNorm).
  for (const auto& args : {QStringList{"forward", "--model", "vit-fmnist", "--device", "cpu", "--dtype", "fp16", "--inputs",
                                       "/nonexistent/in.safetensors", "--out", "/nonexistent/out.safetensors"},
                           QStringList{"bench-layer", "--device", "cpu", "--dtype", "fp16"}}) {
    auto r = fourierft(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("field '--dtype': fp16 runs on CUDA only") && !r.err.contains("Half"), qPrintable(args.join(' ') + ": " + r.err));
  }
}

// A mistyped --index: listing does not make an empty index there, and a run whose index cannot
// be opened stops before it makes its run folder; a bad experiment with --nproc is told once.
void TestCli::badPathsToldBeforeAnything() {
  fw::test::TempDir tmp;
  const auto dir = QString::fromStdString(tmp.path());
  auto listed = fourierft({"runs", "--index", dir + "/typo.sqlite"});
  QCOMPARE(listed.code, 1);
  QVERIFY2(listed.err.contains("no run index here") && listed.err.contains(dir + "/typo.sqlite"), qPrintable(listed.err));
  QVERIFY(!QFile::exists(dir + "/typo.sqlite"));
  // With --nproc, a missing experiment is told once by the launcher, not by each worker.
  auto launched = fourierft({"train", dir + "/missing.json", "--nproc", "2", "--no-index"});
  QCOMPARE(launched.code, 1);
  QVERIFY2(launched.err.count("error:") == 1 && launched.err.contains(dir + "/missing.json"), qPrintable(launched.err));

  if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  fw::test::writeBytes(tmp.file("e.json"), tinyExperiment(2).dump());
  auto r = fourierft({"train", dir + "/e.json", "--out", dir + "/runs", "--index", dir});
  QCOMPARE(r.code, 1);
  QVERIFY2(r.err.contains("the run index is a file, not a folder") && r.err.contains(dir + "/runs.sqlite"), qPrintable(r.err));
  QVERIFY2(fw::test::onlyRunFolder(dir + "/runs").isEmpty(), "a run folder was left behind");
  // With --nproc too, told once, by the launcher: rank 0 opens the index, and the other workers
  // said only that rank 0 had gone away ("sharing run_folder failed").
  auto parallel = fourierft({"train", dir + "/e.json", "--out", dir + "/runs", "--index", dir, "--nproc", "2"});
  QCOMPARE(parallel.code, 1);
  QVERIFY2(parallel.err.count("error:") == 1 && parallel.err.contains("the run index is a file, not a folder") &&
               !parallel.err.contains("rank 1"), qPrintable(parallel.err));
  QVERIFY2(fw::test::onlyRunFolder(dir + "/runs").isEmpty(), "a run folder was left behind");

  // A misspelt preset or path: told with the experiment's field before a run folder is made.
  const QList<QPair<QStringList, QString>> early{
      {{"model.preset=\"vit-fmnst\""}, "field 'model.preset': unknown model preset 'vit-fmnst'"},
      {{"model.preset=\"\"", "model.checkpoint=\"/nonexistent/ckpt\""},
       "/nonexistent/ckpt: field 'model.checkpoint': folder not found: expected a Hugging Face folder: config.json and model.safetensors"},
      {{"model.preset=\"\"", "model.checkpoint=\"" + dir + "/e.json\""},
       dir + "/e.json: field 'model.checkpoint': a file, not a folder: expected a Hugging Face folder: config.json and "
             "model.safetensors (give the folder that holds it: " + dir + ")"},
      {{"dataset.train=\"/nonexistent/train.gz\""}, "/nonexistent/train.gz: field 'dataset.train': dataset file or folder not found"},
  };
  for (const auto& [sets, expected] : early) {
    QStringList args{"train", dir + "/e.json", "--out", dir + "/runs", "--no-index"};
    for (const auto& s : sets) args << "--set" << s;
    auto bad = fourierft(args);
    QVERIFY2(bad.code == 1 && bad.err.contains(expected), qPrintable(sets.join(' ') + ": " + bad.err));
    QVERIFY2(fw::test::onlyRunFolder(dir + "/runs").isEmpty(), qPrintable(sets.join(' ') + ": a run folder was left behind"));
  }
  // Found while the model and data are made: the error names the experiment's field, not the
  // reader's option ("classes", "target_modules" of the adapter config, "analysis.layers").
  const QList<QPair<QString, QString>> late{
      {"trainable_modules=[\"clasifier\"]", "field 'trainable_modules': trainable_modules names no module of the model: 'clasifier'"},
      {"methods.0.target_modules=[\"qeury\"]", "field 'methods.0.target_modules': target_modules match no linear module"},
      {"dataset.classes=[1,1]", "field 'dataset.classes': class filter names a class twice"},
  };
  for (const auto& [set, expected] : late) {
    auto bad = fourierft({"train", dir + "/e.json", "--out", dir + "/late", "--no-index", "--set", set});
    QVERIFY2(bad.code == 1 && bad.err.contains(expected), qPrintable(set + ": " + bad.err));
  }
  // A model whose head does not fit the data is told in words (it failed in the loss, with
  // LibTorch's "Expected target size [2, 50257], got [2]").
  const auto gpt2 = QString::fromStdString(fw::test::sharedPath("data/models/tiny-gpt2-random"));
  if (gpt2.isEmpty()) QSKIP("../shared/data/models not found");
  auto mismatch = fourierft({"train", dir + "/e.json", "--out", dir + "/late", "--no-index", "--set", "model.preset=\"\"",
                             "--set", "model.checkpoint=\"" + gpt2 + "\""});
  QVERIFY2(mismatch.code == 1 && mismatch.err.contains("field 'model': gpt2 is a causal language model and cannot "
                                                       "train on images: got " + gpt2),
           qPrintable(mismatch.err));
}

// A run killed outright stays "running" in the index with a dead owner; --resume takes it over
// (and finishes it), while a run whose process is alive is refused, naming that process.
void TestCli::resumeTakesOverAKilledRun() {
  if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  fw::test::TempDir tmp;
  fw::test::writeBytes(tmp.file("e.json"), tinyExperiment(2).dump());
  const auto dir = QString::fromStdString(tmp.path());
  const auto index = dir + "/runs.sqlite";
  QProcess p;
  p.start(FW_CLI_PATH, {"train", dir + "/e.json", "--out", dir + "/runs", "--index", index});
  QVERIFY(p.waitForStarted());
  const QString run = runPastCheckpoint(dir + "/runs", 3);
  QVERIFY2(!run.isEmpty(), qPrintable(QString::fromUtf8(p.readAllStandardError())));
  const auto killedPid = p.processId();
  p.kill();
  QVERIFY(p.waitForFinished(30000));
  auto before = indexRecord(index, run);
  QVERIFY(before);
  QCOMPARE(before->status, fw::runs::RunStatus::Running);
  QCOMPARE(before->owner.pid, int64_t(killedPid));

  // Another index that names this (live) test process as the run's owner: refused before anything.
  const auto busyIndex = dir + "/busy.sqlite";
  {
    fw::runs::RunRecord r;
    r.folder = run.toStdString();
    r.name = "tiny";
    r.status = fw::runs::RunStatus::Running;
    r.owner = fw::runs::ProcessIdentity::current();
    fw::runs::RunIndex::open(busyIndex.toStdString()).add(r);
  }
  auto busy = fourierft({"train", "--resume", run, "--index", busyIndex});
  QCOMPARE(busy.code, 1);
  QVERIFY2(busy.err.contains("this run is still running (pid " + QString::number(::getpid()) + ")") &&
               busy.err.contains(run) && !busy.err.contains("step "),
           qPrintable(busy.err));
  QCOMPARE(indexRecord(busyIndex, run)->status, fw::runs::RunStatus::Running);
  QCOMPARE(summaryOf(run).value("status", ""), std::string("running"));  // left as the kill left it

  auto resumed = fourierft({"train", "--resume", run, "--index", index});
  QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
  const auto after = indexRecord(index, run);
  QCOMPARE(after->id, before->id);
  QCOMPARE(after->status, fw::runs::RunStatus::Finished);
  QVERIFY(after->owner.pid != int64_t(killedPid));
  QCOMPARE(summaryOf(run)["methods"]["fourierft"]["steps"].get<int64_t>(), int64_t(64));
  auto listed = fourierft({"runs", "--index", index});
  QVERIFY2(listed.code == 0 && listed.out.contains("finished") && !listed.out.contains("interrupted"), qPrintable(listed.out));

  // Resuming it again, with the index or without: nothing to train, nothing changed, exit 0 (it
  // failed with the index's "invalid run status change", and rewrote summary.json without). An
  // index that lacks the run gets its record, finished, without training anything again.
  const auto otherIndex = dir + "/other.sqlite";
  auto summaryBytes = [&] {
    QFile f(run + "/summary.json");
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
  };
  const QByteArray finishedSummary = summaryBytes();
  QVERIFY(!finishedSummary.isEmpty());
  for (const QStringList& indexArgs :
       {QStringList{"--index", index}, QStringList{"--no-index"}, QStringList{"--index", otherIndex}}) {
    auto again = fourierft(QStringList{"train", "--resume", run} + indexArgs);
    QVERIFY2(again.code == 0 && again.err.contains("this run has finished: nothing to resume"),
             qPrintable(indexArgs.join(' ') + ": " + again.err));
    QVERIFY2(again.out.contains("fourierft") && again.out.contains(run), qPrintable(again.out));
    QCOMPARE(summaryBytes(), finishedSummary);
    QCOMPARE(indexRecord(index, run)->status, fw::runs::RunStatus::Finished);
  }
  QCOMPARE(indexRecord(otherIndex, run)->status, fw::runs::RunStatus::Finished);

  // On a preset's random weights (not saved), --merged cannot be made: the error says it is
  // --merged's, and that the adapter exports asked beside it need no base. Nothing is written.
  auto merged = fourierft({"export", run, "--peft", dir + "/ex/peft", "--merged", dir + "/ex/merged"});
  QVERIFY2(merged.code == 1 && merged.err.contains("field '--merged': the run's base model is a preset with random weights") &&
               merged.err.contains("--peft and --native need no base: leave --merged out"),
           qPrintable(merged.err));
  QVERIFY(!QFile::exists(dir + "/ex/peft/adapter_config.json"));
  // Said when the run started, too.
  QVERIFY2(QString::fromStdString(fw::readTextFile((run + "/log.txt").toStdString()))
               .contains("note: the base model is the preset vit-fmnist with random weights, which are not saved"),
           "log.txt lacks the note on the preset's weights");
}

void TestCli::stopWithSeveralProcesses_data() {
  QTest::addColumn<int>("sig");
  QTest::addColumn<bool>("toGroup");
  // Ctrl-C: the terminal signals its whole foreground group, the launcher and (were they in it)
  // the workers; each worker must get one stop, not two (a second one quits at once).
  QTest::newRow("Ctrl-C to the group") << int(SIGINT) << true;
  // The workbench window's Stop: SIGTERM to the launcher alone, which passes it on.
  QTest::newRow("SIGTERM to the launcher") << int(SIGTERM) << false;
}

// One stop of a data-parallel run: every worker stops cleanly at one step, rank 0 writes the
// checkpoint of that step, the adapters, the summary and the index while the launcher waits for
// it, and the launcher exits 130. The run then resumes to the end.
void TestCli::stopWithSeveralProcesses() {
#ifdef FW_NO_GLOO
  QSKIP("built without Gloo's headers (libgloo-dev): no data-parallel training to test");
#endif
  if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  QFETCH(int, sig);
  QFETCH(bool, toGroup);
  fw::test::TempDir tmp;
  fw::test::writeBytes(tmp.file("e.json"), tinyExperiment(8).dump());  // 256 steps
  const auto dir = QString::fromStdString(tmp.path());
  const auto index = dir + "/runs.sqlite";
  QProcess p;
  p.setChildProcessModifier([] { ::setpgid(0, 0); });  // a process group of its own, as a shell's job
  p.start(FW_CLI_PATH, {"train", dir + "/e.json", "--out", dir + "/runs", "--index", index, "--nproc", "2"});
  QVERIFY(p.waitForStarted());
  const QString run = runPastCheckpoint(dir + "/runs", 3);
  QVERIFY2(!run.isEmpty(), qPrintable(QString::fromUtf8(p.readAllStandardError())));
  const pid_t launcher = pid_t(p.processId());
  QCOMPARE(::kill(toGroup ? -launcher : launcher, sig), 0);
  QVERIFY(p.waitForFinished(120000));
  const QString err = QString::fromUtf8(p.readAllStandardError());
  QCOMPARE(p.exitStatus(), QProcess::NormalExit);
  QVERIFY2(p.exitCode() == 130, qPrintable(QString::number(p.exitCode()) + "\n" + err));
  QVERIFY2(err.contains("stopping after this step") && !err.contains("killing") && !err.contains("exited with") &&
               !err.contains("killed by signal"),
           qPrintable(err));

  const auto s = summaryOf(run);
  QCOMPARE(s.value("status", ""), std::string("stopped"));
  const int64_t steps = s["methods"]["fourierft"]["steps"].get<int64_t>();
  QVERIFY2(steps >= 3 && steps < 256, qPrintable(QString::number(steps)));
  const auto latest = fw::runs::RunFolder::open(run.toStdString()).latestCheckpoint("fourierft");
  QVERIFY(latest);
  QCOMPARE(latest->step, steps);  // the stop's own checkpoint, complete
  QVERIFY(QFile::exists(run + "/adapters/fourierft/peft/adapter_model.safetensors"));
  QCOMPARE(indexRecord(index, run)->status, fw::runs::RunStatus::Stopped);
  // Rank 1 stopped by itself too, at the same step (its log: one stop, no error).
  QFile log(run + "/rank-1.log");
  QVERIFY(log.open(QIODevice::ReadOnly));
  const QString rank1 = QString::fromUtf8(log.readAll());
  QVERIFY2(rank1.count("stopping after this step") == 1 && !rank1.contains("error"), qPrintable(rank1));

  auto resumed = fourierft({"train", "--resume", run, "--index", index, "--nproc", "2"});
  QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
  QCOMPARE(summaryOf(run).value("status", ""), std::string("finished"));
  QCOMPARE(indexRecord(index, run)->status, fw::runs::RunStatus::Finished);
}

// An export goes into a new or empty folder; --force replaces what an earlier export left there.
void TestCli::exportRefusesAFolderInUse() {
  if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  fw::test::TempDir tmp;
  fw::test::writeBytes(tmp.file("e.json"), tinyExperiment(1, true).dump());
  const auto dir = QString::fromStdString(tmp.path());
  auto t = fourierft({"train", dir + "/e.json", "--out", dir + "/runs", "--no-index"});
  QVERIFY2(t.code == 0, qPrintable(t.err));
  const QString run = fw::test::onlyRunFolder(dir + "/runs");
  const QString out = dir + "/out";

  auto native = fourierft({"export", run, "--native", out});
  QVERIFY2(native.code == 0, qPrintable(native.err));
  QVERIFY(QFile::exists(out + "/workbench.json") && QFile::exists(out + "/workbench_positions.safetensors"));
  // A second export into it is refused, naming the folder, and writes nothing.
  const auto before = QFileInfo(out + "/adapter_config.json").lastModified();
  auto peft = fourierft({"export", run, "--peft", out});
  QCOMPARE(peft.code, 1);
  QVERIFY2(peft.err.contains(out + ": field '--peft': the export folder exists and is not empty") &&
               peft.err.contains("--force"),
           qPrintable(peft.err));
  QCOMPARE(QFileInfo(out + "/adapter_config.json").lastModified(), before);
  // --force: a PEFT folder, none of the native export's files left to make it look native.
  fw::test::writeBytes((out + "/NOTES.txt").toStdString(), "mine");
  auto forced = fourierft({"export", run, "--peft", out, "--force"});
  QVERIFY2(forced.code == 0, qPrintable(forced.err));
  QVERIFY(!QFile::exists(out + "/workbench.json") && !QFile::exists(out + "/workbench_positions.safetensors"));
  QVERIFY(QFile::exists(out + "/NOTES.txt"));  // not the export's: left alone
  auto info = fourierft({"adapter", "info", out});
  QVERIFY2(info.code == 0 && info.out.contains("(PEFT)") && !info.out.contains("native"), qPrintable(info.out));

  // A merged checkpoint is not written over a base checkpoint folder (the cached base here).
  const QString base = dir + "/base";
  const auto baseWeights = QFileInfo(base + "/model.safetensors").lastModified();
  auto merged = fourierft({"export", run, "--merged", base});
  QCOMPARE(merged.code, 1);
  QVERIFY2(merged.err.contains(base + ": field '--merged'"), qPrintable(merged.err));
  QCOMPARE(QFileInfo(base + "/model.safetensors").lastModified(), baseWeights);
  // A stale shard of an earlier sharded checkpoint goes with --force (the loader would prefer it).
  const QString m = dir + "/merged";
  QVERIFY(QDir().mkpath(m));
  fw::test::writeBytes((m + "/model.safetensors.index.json").toStdString(), "{}");
  fw::test::writeBytes((m + "/model-00001-of-00002.safetensors").toStdString(), "stale");
  auto mergedForced = fourierft({"export", run, "--merged", m, "--force"});
  QVERIFY2(mergedForced.code == 0, qPrintable(mergedForced.err));
  QCOMPARE(QDir(m).entryList(QDir::Files), (QStringList{"config.json", "model.safetensors"}));
  // One folder for two exports is refused before anything is written.
  auto same = fourierft({"export", run, "--peft", dir + "/both", "--native", dir + "/both/"});
  QCOMPARE(same.code, 1);
  QVERIFY2(same.err.contains("--peft and --native name the same folder"), qPrintable(same.err));
  QVERIFY(!QFile::exists(dir + "/both"));

  // An adapter export reads the adapter alone: with the base model moved away it still works,
  // and the same adapter comes out; a merge needs the base and says where it looked.
  QVERIFY(QDir().rename(base, dir + "/base-moved"));
  auto alone = fourierft({"export", run, "--peft", dir + "/alone"});
  QVERIFY2(alone.code == 0, qPrintable(alone.err));
  QCOMPARE(fw::readTextFile((dir + "/alone/adapter_model.safetensors").toStdString()),
           fw::readTextFile((out + "/adapter_model.safetensors").toStdString()));
  auto noBase = fourierft({"export", run, "--merged", dir + "/merged2"});
  QCOMPARE(noBase.code, 1);
  QVERIFY2(noBase.err.contains(base + ": field '--merged': the run's base model is not there (moved or deleted since the run?)"),
           qPrintable(noBase.err));
  QVERIFY(!QFile::exists(dir + "/merged2/model.safetensors"));
}

QTEST_MAIN(TestCli)
#include "tst_cli.moc"
