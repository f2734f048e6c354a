// The fourierft command line as a user runs it: real processes, their output and exit codes.
#include "io/safetensors.h"
#include "support/cli_process.h"
#include "support/test_support.h"
#include "support/tiny_sentencepiece.h"
#include "util/files.h"

#include <QRegularExpression>

#include <csignal>

namespace {

fw::test::CliRun fourierft(const QStringList& args) { return fw::test::runCli(args); }

QString fixture(const char* rel) { return QString::fromStdString(fw::test::sharedPath(std::string("fixtures/hf/") + rel)); }

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
  void selftestPasses();
  void crashPrintsAReport();
  void trainRunsEvalExport();
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
  QVERIFY(r.code != 0);
  QVERIFY2((r.out + r.err).contains("frobnicate"), qPrintable(r.out + r.err));
  QVERIFY(fourierft({}).code != 0);  // a command is required
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

  auto bad = fourierft({"train", dir + "/e.json", "--set", "epochz=2"});
  QCOMPARE(bad.code, 1);
  QVERIFY2(bad.err.contains("field 'epochz'") && bad.err.contains("e.json"), qPrintable(bad.err));
}

QTEST_MAIN(TestCli)
#include "tst_cli.moc"
