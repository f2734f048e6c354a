// Text datasets: GLUE (the real RTE and SST-2 files with the real BERT tokenizer, and both
// layouts of every task written here), CSV/TSV/JSONL tables, Alpaca instructions with the real
// GPT-2 tokenizer, and every bad-row case in both BadRows modes.
#include "data/glue.h"
#include "data/instructions.h"
#include "data/label_set.h"
#include "data/table.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/wordpiece.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_depth.h"

#include <nlohmann/json.hpp>

#include <QtTest/QtTest>

#include <cmath>
#include <fstream>

using namespace fw::data;
using fw::tokenizers::Tokenizer;

namespace {

std::string sharedDir() {
  const QByteArray env = qgetenv("FW_SHARED_DIR");
  if (!env.isEmpty()) return env.toStdString();
  const std::string macro = FW_SHARED_DIR;
  return macro.empty() ? std::string("/work/shared") : macro;
}

bool exists(const std::string& path) { return QFileInfo::exists(QString::fromStdString(path)); }

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// What a bad row's error ends with when the dataset fails on bad rows (data/bad_rows.h).
const QString kSkipHint = QStringLiteral(" (set the dataset's bad_rows to \"skip\" to leave such rows out)");

template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const fw::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not an fw::Error: ") + e.what();
  }
  return "no error";
}

QList<qlonglong> toList(const std::vector<int64_t>& v) { return QList<qlonglong>(v.begin(), v.end()); }

QStringList toStrings(const std::vector<std::string>& v) {
  QStringList out;
  for (const std::string& s : v) out.push_back(QString::fromStdString(s));
  return out;
}

// Class labels with -1 for "no label", so that one list says both.
QList<int> labelsOf(const Dataset& ds) {
  QList<int> out;
  for (const Example& e : ds.examples) out.push_back(e.hasLabel ? static_cast<int>(e.label) : -1);
  return out;
}

}  // namespace

class TestDatasets : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  std::unique_ptr<Tokenizer> toy_;  // WordPiece over single letters: every word is spelled out
  std::unique_ptr<Tokenizer> bert_, gpt2_;

  std::string path(const std::string& name) const { return tmp_.path().toStdString() + "/" + name; }
  std::string write(const std::string& name, const std::string& bytes) const {
    writeFile(path(name), bytes);
    return path(name);
  }
  void needBert() {
    if (!bert_) QSKIP(qPrintable("missing " + QString::fromStdString(sharedDir()) + "/data/tokenizers/bert-base-uncased"));
  }

private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then letters, digits, punctuation and their "##" forms.
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    const std::string chars = "abcdefghijklmnopqrstuvwxyz0123456789.,?!'\"-#";
    for (char c : chars) vocab += std::string(1, c) + "\n";
    for (char c : chars) vocab += "##" + std::string(1, c) + "\n";
    QDir().mkpath(QString::fromStdString(path("toy")));
    writeFile(path("toy/vocab.txt"), vocab);
    toy_ = fw::tokenizers::WordPieceTokenizer::fromVocabTxt(path("toy/vocab.txt"));
    const std::string tokDir = sharedDir() + "/data/tokenizers/";
    if (exists(tokDir + "bert-base-uncased/vocab.txt")) bert_ = fw::tokenizers::loadTokenizer(tokDir + "bert-base-uncased");
    if (exists(tokDir + "gpt2/vocab.json")) gpt2_ = fw::tokenizers::loadTokenizer(tokDir + "gpt2");
  }

  // ---- GLUE task table ----

  void glueTaskNames_data() {
    QTest::addColumn<QString>("given");
    QTest::addColumn<QString>("canonical");
    QTest::addColumn<int>("numLabels");
    QTest::addColumn<bool>("regression");
    QTest::addColumn<QStringList>("metrics");
    QTest::newRow("sst2") << "sst2" << "SST-2" << 2 << false << QStringList{"accuracy"};
    QTest::newRow("SST-2") << "SST-2" << "SST-2" << 2 << false << QStringList{"accuracy"};
    QTest::newRow("sst-2") << "sst-2" << "SST-2" << 2 << false << QStringList{"accuracy"};
    QTest::newRow("Sst_2") << "Sst_2" << "SST-2" << 2 << false << QStringList{"accuracy"};
    QTest::newRow("cola") << "cola" << "CoLA" << 2 << false << QStringList{"matthews_correlation"};
    QTest::newRow("mrpc") << "mrpc" << "MRPC" << 2 << false << QStringList{"f1", "accuracy"};
    QTest::newRow("sts-b") << "sts-b" << "STS-B" << 1 << true << QStringList{"pearson", "spearmanr"};
    QTest::newRow("QQP") << "QQP" << "QQP" << 2 << false << QStringList{"f1", "accuracy"};
    QTest::newRow("mnli") << "mnli" << "MNLI" << 3 << false << QStringList{"accuracy"};
    QTest::newRow("mnli-m") << "mnli-m" << "MNLI-m" << 3 << false << QStringList{"accuracy"};
    QTest::newRow("MNLI_mismatched") << "MNLI_mismatched" << "MNLI-mm" << 3 << false << QStringList{"accuracy"};
    QTest::newRow("qnli") << "qnli" << "QNLI" << 2 << false << QStringList{"accuracy"};
    QTest::newRow("rte") << "rte" << "RTE" << 2 << false << QStringList{"accuracy"};
    QTest::newRow("wnli") << "wnli" << "WNLI" << 2 << false << QStringList{"accuracy"};
  }
  void glueTaskNames() {
    QFETCH(QString, given);
    QFETCH(QString, canonical);
    QFETCH(int, numLabels);
    QFETCH(bool, regression);
    QFETCH(QStringList, metrics);
    const GlueTaskInfo& info = glueTask(given.toStdString());
    QCOMPARE(QString::fromStdString(info.name), canonical);
    QCOMPARE(info.numLabels, numLabels);
    QCOMPARE(info.regression, regression);
    QCOMPARE(toStrings(info.metrics), metrics);
    QCOMPARE(static_cast<int>(info.labelNames.size()), regression ? 0 : numLabels);
  }

  void glueUnknownTask() {
    const std::string e = errorOf([] { glueTask("squad"); });
    QCOMPARE(QString::fromStdString(e),
             QString("unknown GLUE task: expected one of CoLA, SST-2, MRPC, STS-B, QQP, MNLI, MNLI-m, MNLI-mm, QNLI, "
                     "RTE, WNLI, got 'squad'"));
    QCOMPARE(toStrings(glueTask("rte").labelNames), (QStringList{"entailment", "not_entailment"}));
    QCOMPARE(toStrings(glueTask("mnli").labelNames), (QStringList{"entailment", "neutral", "contradiction"}));
    QCOMPARE(toStrings(glueTask("wnli").labelNames), (QStringList{"not_entailment", "entailment"}));
  }

  // ---- the real files ----

  void realGlueFiles_data() {
    QTest::addColumn<QString>("task");
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("ones");  // rows labelled 1; -1: none labelled
    // Counts of label 1 from the files themselves (awk over the label column).
    QTest::newRow("RTE train") << "RTE" << "RTE/train.tsv" << 2490 << 1241;
    QTest::newRow("RTE dev") << "RTE" << "RTE/dev.tsv" << 277 << 131;
    QTest::newRow("RTE test") << "RTE" << "RTE/test.tsv" << 3000 << -1;
    QTest::newRow("SST-2 train") << "sst2" << "SST-2/train.tsv" << 60614 << 33828;
    QTest::newRow("SST-2 dev") << "sst2" << "SST-2/dev.tsv" << 6735 << 3741;
    QTest::newRow("SST-2 test") << "sst2" << "SST-2/test.tsv" << 872 << 444;
  }
  void realGlueFiles() {
    QFETCH(QString, task);
    QFETCH(QString, file);
    QFETCH(int, rows);
    QFETCH(int, ones);
    const std::string p = sharedDir() + "/data/glue/" + file.toStdString();
    if (!exists(p)) QSKIP(qPrintable("missing " + QString::fromStdString(p)));
    needBert();
    const Dataset ds = loadGlue(task.toStdString(), p, *bert_, 128, BadRows::Fail);
    QCOMPARE(static_cast<int>(ds.examples.size()), rows);
    QCOMPARE(ds.skippedRows, 0);
    QCOMPARE(ds.kind, TaskKind::Classification);
    QCOMPARE(ds.numLabels, 2);
    int labelled = 0, positive = 0;
    size_t longest = 0;
    for (const Example& e : ds.examples) {
      labelled += e.hasLabel;
      positive += e.hasLabel && e.label == 1;
      QVERIFY(!e.hasLabel || e.label == 0 || e.label == 1);
      QVERIFY(e.ids.front() == 101 && e.ids.back() == 102);  // [CLS] ... [SEP]
      QCOMPARE(e.typeIds.size(), e.ids.size());
      longest = std::max(longest, e.ids.size());
    }
    if (ones < 0) {
      QCOMPARE(labelled, 0);  // label -1 on the test split: no label, never class -1
      for (const Example& e : ds.examples) QCOMPARE(e.label, -1);
    } else {
      QCOMPARE(labelled, rows);
      QCOMPARE(positive, ones);
    }
    QVERIFY(longest <= 128);
  }

  void realFirstExamples() {
    const std::string rte = sharedDir() + "/data/glue/RTE/train.tsv", sst = sharedDir() + "/data/glue/SST-2/train.tsv";
    if (!exists(rte) || !exists(sst)) QSKIP(qPrintable("missing " + QString::fromStdString(sharedDir()) + "/data/glue"));
    needBert();
    // RTE train row 1: "No Weapons of Mass Destruction Found in Iraq Yet." / "Weapons of Mass
    // Destruction Found in Iraq." label 1. Ids are the line numbers in vocab.txt (0-based).
    const Dataset ds = loadGlue("RTE", rte, *bert_, 512, BadRows::Fail);
    const Example& e = ds.examples.front();
    QCOMPARE(toList(e.ids), (QList<qlonglong>{101, 2053, 4255, 1997, 3742, 6215, 2179, 1999, 5712, 2664, 1012, 102,
                                              4255, 1997, 3742, 6215, 2179, 1999, 5712, 1012, 102}));
    QCOMPARE(toList(e.typeIds), (QList<qlonglong>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
    QCOMPARE(QString::fromStdString(bert_->decode(e.ids)),
             QString("no weapons of mass destruction found in iraq yet. weapons of mass destruction found in iraq."));
    QCOMPARE(e.label, 1);
    QCOMPARE(QString::fromStdString(ds.name), QString("RTE"));
    QCOMPARE(toStrings(ds.labelNames), (QStringList{"entailment", "not_entailment"}));

    // Truncation to 16: 13 tokens besides [CLS] [SEP] [SEP] for texts of 10 and 8. Longest-first
    // removes one token at a time from the longer text, the second on ties: 9/8, 8/8, 8/7, 7/7, 7/6.
    const Dataset truncated = loadGlue("RTE", rte, *bert_, 16, BadRows::Fail);
    const Example& cut = truncated.examples.front();
    QCOMPARE(toList(cut.ids), (QList<qlonglong>{101, 2053, 4255, 1997, 3742, 6215, 2179, 1999, 102,
                                                4255, 1997, 3742, 6215, 2179, 1999, 102}));

    // RTE train row 13 (idx 12) is quoted in the file: "Valero Energy Corp., on Monday, said it
    // found ""extensive"" additional damage ..." reads as Python's csv and pandas read it.
    QCOMPARE(ds.examples.size(), size_t(2490));
    const std::string valero = bert_->decode(ds.examples[12].ids);
    QVERIFY2(valero.rfind("valero energy corp., on monday, said it found \" extensive \" additional damage", 0) == 0,
             valero.c_str());

    // SST-2 train row 1: "when are bears bears and " label 1.
    const Dataset sst2 = loadGlue("SST-2", sst, *bert_, 64, BadRows::Fail);
    const Example& s = sst2.examples.front();
    QCOMPARE(toList(s.ids), (QList<qlonglong>{101, 2043, 2024, 6468, 6468, 1998, 102}));
    QCOMPARE(s.label, 1);
  }

  // ---- both layouts of every task, written here ----

  void glueLayouts_data() {
    QTest::addColumn<QString>("task");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QList<int>>("labels");  // -1: no label
    QTest::addColumn<QString>("firstText");
    QTest::addColumn<QString>("firstPair");  // empty for single-text tasks

    QTest::newRow("RTE original") << "RTE"
        << QByteArray("index\tsentence1\tsentence2\tlabel\n"
                      "0\tA man runs.\tA person moves.\tentailment\n"
                      "1\tThe cat sleeps.\tThe dog barks.\tnot_entailment\n")
        << QList<int>{0, 1} << "A man runs." << "A person moves.";
    QTest::newRow("RTE original test") << "RTE"
        << QByteArray("index\tsentence1\tsentence2\n0\tIt rains.\tIt is wet.\n") << QList<int>{-1} << "It rains." << "It is wet.";
    QTest::newRow("RTE Hugging Face") << "rte"
        << QByteArray("sentence1\tsentence2\tlabel\tidx\nA b.\tC d.\t1\t0\nE f.\tG h.\t0\t1\n")
        << QList<int>{1, 0} << "A b." << "C d.";
    // Hugging Face's export quotes a field holding '"' (pandas, as `load_dataset("csv")` reads it
    // back: 454 of RTE's 2,490 training rows); GLUE's own files are QUOTE_NONE.
    QTest::newRow("RTE Hugging Face, quoted") << "rte"
        << QByteArray("sentence1\tsentence2\tlabel\tidx\n\"He said \"\"no\"\".\"\t\"Two\tparts.\"\t1\t0\n"
                      "A \"b\".\tc\t0\t1\n")
        << QList<int>{1, 0} << "He said \"no\"." << "Two\tparts.";
    QTest::newRow("RTE original, quotes are text") << "RTE"
        << QByteArray("index\tsentence1\tsentence2\tlabel\n0\t\"Yes.\"\tB.\tentailment\n")
        << QList<int>{0} << "\"Yes.\"" << "B.";
    QTest::newRow("QNLI original") << "QNLI"
        << QByteArray("index\tquestion\tsentence\tlabel\n0\tWho ran?\tA man ran.\tentailment\n"
                      "1\tWhy?\tNo reason.\tnot_entailment\n")
        << QList<int>{0, 1} << "Who ran?" << "A man ran.";
    QTest::newRow("SST-2 original") << "SST-2"
        << QByteArray("sentence\tlabel\nit 's a charming journey . \t1\nbleak \t0\n")
        << QList<int>{1, 0} << "it 's a charming journey . " << "";
    QTest::newRow("SST-2 original test") << "SST-2"
        << QByteArray("index\tsentence\n0\tuneasy mishmash of styles\n") << QList<int>{-1} << "uneasy mishmash of styles" << "";
    QTest::newRow("SST-2 Hugging Face CRLF") << "sst2"
        << QByteArray("sentence\tlabel\tidx\r\nhide new secretions \t0\t0\r\ngood \"quotes\t1\t1\r\n")
        << QList<int>{0, 1} << "hide new secretions " << "";
    QTest::newRow("CoLA original, no header") << "CoLA"
        << QByteArray("gj04\t1\t\tOur friends won't buy this analysis.\ngj04\t0\t*\tThe more does Bill smoke.\n")
        << QList<int>{1, 0} << "Our friends won't buy this analysis." << "";
    QTest::newRow("CoLA original test") << "cola"
        << QByteArray("index\tsentence\n0\tBill whistled past the house.\n") << QList<int>{-1} << "Bill whistled past the house." << "";
    QTest::newRow("MRPC original with BOM") << "MRPC"
        << QByteArray("\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                      "1\t702876\t702977\tAmrozi accused his brother.\tReferring to him, Amrozi said.\n"
                      "0\t2108705\t2108831\tYucaipa owned Dominick.\tYucaipa bought it.\n")
        << QList<int>{1, 0} << "Amrozi accused his brother." << "Referring to him, Amrozi said.";
    QTest::newRow("MRPC original test") << "MRPC"
        << QByteArray("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1089874\t1089925\tPCCW chief.\tCurrent chief.\n")
        << QList<int>{-1} << "PCCW chief." << "Current chief.";
    QTest::newRow("QQP original") << "QQP"
        << QByteArray("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
                      "133273\t213221\t213222\tHow is life?\tWhich level?\t0\n"
                      "402555\t536040\t536041\tHow do I do it?\tHow to do it?\t1\n")
        << QList<int>{0, 1} << "How is life?" << "Which level?";
    QTest::newRow("QQP original test") << "QQP"
        << QByteArray("id\tquestion1\tquestion2\n0\tWhy?\tWhy not?\n") << QList<int>{-1} << "Why?" << "Why not?";
    QTest::newRow("MNLI original dev") << "mnli-m"
        << QByteArray("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
                      "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
                      "0\t63735\t63735n\tslate\t( ( The new ) )\t( Everyone )\t(ROOT (S))\t(ROOT (S))\tThe new rights are nice.\t"
                      "Everyone likes the benefits.\tneutral\tentailment\tneutral\tneutral\tneutral\tneutral\n"
                      "1\t91383\t91383c\tgovernment\t( This )\t( This )\t(ROOT)\t(ROOT)\tThis site includes a list.\t"
                      "The site has nothing.\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\n")
        << QList<int>{1, 2} << "The new rights are nice." << "Everyone likes the benefits.";
    QTest::newRow("MNLI original test") << "MNLI-mm"
        << QByteArray("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
                      "sentence2_parse\tsentence1\tsentence2\n0\t1\t1n\tfiction\t( a )\t( b )\t(ROOT)\t(ROOT)\tHi there.\tHello.\n")
        << QList<int>{-1} << "Hi there." << "Hello.";
    QTest::newRow("MNLI Hugging Face") << "mnli"
        << QByteArray("premise\thypothesis\tlabel\tidx\nConceptually cream skimming.\tProduct and geography.\t1\t0\n"
                      "You lose things.\tYou lose nothing.\t2\t1\nA b.\tA.\t0\t2\n")
        << QList<int>{1, 2, 0} << "Conceptually cream skimming." << "Product and geography.";
    QTest::newRow("WNLI original") << "WNLI"
        << QByteArray("index\tsentence1\tsentence2\tlabel\n0\tI stuck a pin through a carrot.\tThe carrot had a hole.\t1\n"
                      "1\tJohn could not see.\tJohn was short.\t0\n")
        << QList<int>{1, 0} << "I stuck a pin through a carrot." << "The carrot had a hole.";
  }
  void glueLayouts() {
    QFETCH(QString, task);
    QFETCH(QByteArray, content);
    QFETCH(QList<int>, labels);
    QFETCH(QString, firstText);
    QFETCH(QString, firstPair);
    const std::string p = write("glue.tsv", content.toStdString());
    const Dataset ds = loadGlue(task.toStdString(), p, *toy_, 0, BadRows::Fail);
    QCOMPARE(labelsOf(ds), labels);
    QCOMPARE(ds.skippedRows, 0);
    // The right columns: the first example is exactly the encoding of the expected texts.
    const std::string a = firstText.toStdString(), b = firstPair.toStdString();
    const auto expected = toy_->encode(a, firstPair.isEmpty() ? nullptr : &b);
    QCOMPARE(toList(ds.examples.front().ids), toList(expected.ids));
    QCOMPARE(toList(ds.examples.front().typeIds), toList(expected.typeIds));
    QCOMPARE(ds.source, p);
  }

  void glueStsbScores() {
    const std::string original = write("stsb.tsv",
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\tAn air plane is taking off.\t5.000\n"
        "1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\tA man plays a flute.\tA man plays a flute solo.\t3.800\n");
    const Dataset ds = loadGlue("STS-B", original, *toy_, 0, BadRows::Fail);
    QCOMPARE(ds.kind, TaskKind::Regression);
    QCOMPARE(ds.numLabels, 1);
    QCOMPARE(static_cast<int>(ds.examples.size()), 2);
    QCOMPARE(ds.examples[0].target, 5.0);
    QCOMPARE(ds.examples[1].target, 3.8);
    const std::string a = "A plane is taking off.", b = "An air plane is taking off.";
    QCOMPARE(toList(ds.examples[0].ids), toList(toy_->encode(a, &b).ids));

    const std::string hfTest = write("stsb_test.tsv", "sentence1\tsentence2\tlabel\tidx\nA.\tB.\t-1\t0\nC.\tD.\t-1.0\t1\n");
    const Dataset test = loadGlue("stsb", hfTest, *toy_, 0, BadRows::Fail);
    QCOMPARE(labelsOf(test), (QList<int>{-1, -1}));
  }

  void glueHeaderThatFitsNothing() {
    const std::string p = write("weird.tsv", "premise\tlabel\nA.\t0\n");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadGlue("RTE", p, *toy_, 0, BadRows::Skip); })),
             QString::fromStdString(p + ":1: header does not fit GLUE RTE: expected columns sentence1 and sentence2, "
                                        "with label where labelled, got premise, label"));
    const std::string empty = write("empty.tsv", "");
    QVERIFY(QString::fromStdString(errorOf([&] { loadGlue("RTE", empty, *toy_, 0, BadRows::Skip); })).contains("empty GLUE file"));
    QVERIFY(QString::fromStdString(errorOf([&] { loadGlue("RTE", path("absent.tsv"), *toy_, 0, BadRows::Skip); }))
                .contains("absent.tsv: cannot open file"));
  }

  void glueUnterminatedQuoteIsNeverSkipped() {
    // The open quote takes every later line into one field: skipping it would drop the rest silently.
    const std::string p = write("open-quote.tsv", "sentence1\tsentence2\tlabel\tidx\nA.\tB.\t0\t0\n"
                                                  "\"C.\tD.\t1\t1\nE.\tF.\t0\t2\n");
    const QString e = QString::fromStdString(errorOf([&] { loadGlue("RTE", p, *toy_, 0, BadRows::Skip); }));
    QVERIFY2(e.startsWith(QString::fromStdString(p + ":3: unterminated quoted field")), qPrintable(e));
    QVERIFY2(e.contains("idx column"), qPrintable(e));
  }

  // ---- bad rows, both policies ----

  void glueBadRows_data() {
    QTest::addColumn<QString>("task");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("where");   // after the path: ":line: field ..."
    QTest::addColumn<int>("goodRows");

    const QByteArray rte = "sentence1\tsentence2\tlabel\tidx\nA.\tB.\t0\t0\n";
    QTest::newRow("wrong column count") << "RTE" << QByteArray(rte + "C.\tD.\t1\n")
        << ":3: wrong column count: expected 4, got 3" << 1;
    QTest::newRow("too many columns") << "RTE" << QByteArray(rte + "C.\tD.\t1\t1\textra\n")
        << ":3: wrong column count: expected 4, got 5" << 1;
    QTest::newRow("non-numeric label") << "SST-2" << QByteArray("sentence\tlabel\ngood\t1\nbad\tx\n")
        << ":3: field 'label': non-numeric label: expected 0 or 1, or a name: negative, positive, got x" << 1;
    QTest::newRow("label outside the label set") << "SST-2" << QByteArray("sentence\tlabel\nfine\t7\nok\t0\n")
        << ":2: field 'label': label outside the label set: expected 0 or 1, or a name: negative, positive, got 7" << 1;
    QTest::newRow("negative label other than -1") << "RTE" << QByteArray(rte + "C.\tD.\t-2\t1\n")
        << ":3: field 'label': label outside the label set: expected 0 or 1, or a name: entailment, not_entailment, got -2" << 1;
    QTest::newRow("MNLI label name outside") << "MNLI"
        << QByteArray("premise\thypothesis\tlabel\tidx\nA.\tB.\tneutral\t0\nC.\tD.\tmaybe\t1\n")
        << ":3: field 'label': non-numeric label: expected 0 to 2, or a name: entailment, neutral, contradiction, got maybe" << 1;
    QTest::newRow("invalid UTF-8") << "SST-2" << QByteArray("sentence\tlabel\nok\t1\nbad \xff byte\t0\n")
        << ":3: field 'sentence': invalid UTF-8 at byte 4" << 1;
    QTest::newRow("truncated UTF-8 sequence") << "RTE" << QByteArray(rte + "caf\xc3\tD.\t1\t1\n")
        << ":3: field 'sentence1': invalid UTF-8 at byte 3" << 1;
    QTest::newRow("empty text") << "RTE" << QByteArray(rte + "C.\t \t1\t1\n")
        << ":3: field 'sentence2': empty text" << 1;
    QTest::newRow("STS-B score outside 0..5") << "STS-B" << QByteArray("sentence1\tsentence2\tlabel\tidx\nA.\tB.\t5.5\t0\n")
        << ":2: field 'label': label outside the label set: expected a score from 0 to 5, got 5.5" << 0;
    QTest::newRow("STS-B non-numeric score") << "STS-B" << QByteArray("sentence1\tsentence2\tscore\nA.\tB.\thigh\n")
        << ":2: field 'score': non-numeric label: got 'high'" << 0;
    QTest::newRow("CoLA headerless wrong count") << "CoLA" << QByteArray("gj04\t1\t\tGood.\ngj04\t0\tBad.\n")
        << ":2: wrong column count: expected 4, got 3" << 1;
  }
  void glueBadRows() {
    QFETCH(QString, task);
    QFETCH(QByteArray, content);
    QFETCH(QString, where);
    QFETCH(int, goodRows);
    const std::string p = write("bad.tsv", content.toStdString());
    const QString expected = QString::fromStdString(p) + where;
    QCOMPARE(QString::fromStdString(errorOf([&] { loadGlue(task.toStdString(), p, *toy_, 0, BadRows::Fail); })), expected + kSkipHint);

    const Dataset ds = loadGlue(task.toStdString(), p, *toy_, 0, BadRows::Skip);
    QCOMPARE(static_cast<int>(ds.examples.size()), goodRows);
    QCOMPARE(ds.skippedRows, 1);
    QCOMPARE(ds.skipped.size(), size_t{1});
    QCOMPARE(QString::fromStdString(ds.skipped.front()), expected);
  }

  void skippedReasonsAreCapped() {
    std::string content = "sentence\tlabel\n";
    for (int i = 0; i < 25; ++i) content += "text\t9\n";
    content += "kept\t1\n";
    const std::string p = write("many_bad.tsv", content);
    const Dataset ds = loadGlue("SST-2", p, *toy_, 0, BadRows::Skip);
    QCOMPARE(static_cast<int>(ds.examples.size()), 1);
    QCOMPARE(ds.skippedRows, 25);
    QCOMPARE(ds.skipped.size(), Dataset::kMaxSkippedReasons);
    QVERIFY(QString::fromStdString(ds.skipped.back()).startsWith(QString::fromStdString(p) + ":21: field 'label'"));
  }

  // ---- tables ----

  void csvQuoting() {
    // RFC 4180: quoted commas, doubled quotes, a line break inside quotes (the record starts on
    // line 4 and the next one is on line 6), CRLF line ends, an unquoted last record with no newline.
    const std::string p = write("data.csv",
        "text,label,score\r\n"
        "\"Hello, world\",pos,1.5\r\n"
        "\"She said \"\"hi\"\"\",neg,2\r\n"
        "\"multi\nline\",pos,3\r\n"
        "plain,neg,-0.5");
    const Dataset ds = loadTable(p, {"text", "", "label"}, *toy_);
    QCOMPARE(ds.kind, TaskKind::Classification);
    QCOMPARE(toStrings(ds.labelNames), (QStringList{"neg", "pos"}));  // sorted label strings
    QCOMPARE(labelsOf(ds), (QList<int>{1, 0, 1, 0}));
    const std::vector<std::string> texts{"Hello, world", "She said \"hi\"", "multi\nline", "plain"};
    for (size_t i = 0; i < texts.size(); ++i)
      QCOMPARE(toList(ds.examples[i].ids), toList(toy_->encode(texts[i]).ids));
    QCOMPARE(QString::fromStdString(ds.name), QString("data"));

    TableOptions regression;
    regression.kind = TaskKind::Regression;
    const Dataset r = loadTable(p, {"text", "", "score"}, *toy_, regression);
    QCOMPARE(r.numLabels, 1);
    QList<double> targets;
    for (const Example& e : r.examples) targets.push_back(e.target);
    QCOMPARE(targets, (QList<double>{1.5, 2, 3, -0.5}));

    TableOptions explicitLabels;
    explicitLabels.labels = {"pos", "neg"};
    QCOMPARE(labelsOf(loadTable(p, {"text", "", "label"}, *toy_, explicitLabels)), (QList<int>{0, 1, 0, 1}));

    // Line numbers count the line break inside the quoted field.
    const std::string bad = write("bad.csv", "text,label\n\"a\",1\n\"b\nc\",0\nd\n\"e\",1\n");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadTable(bad, {"text", "", "label"}, *toy_); })),
             QString::fromStdString(bad + ":5: wrong column count: expected 2, got 1") + kSkipHint);
    const std::string open = write("open.csv", "text,label\n\"a\",1\n\"never closed,0\nmore\n");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadTable(open, {"text", "", "label"}, *toy_); })),
             QString::fromStdString(open + ":3: unterminated quoted field") + kSkipHint);
  }

  void tsvAndPairs() {
    const std::string p = write("pairs.tsv", "premise\thypothesis\ty\nA man.\tA person.\t2\nA dog.\tA cat.\t0\n\nHi.\tHello.\t\n");
    const Dataset ds = loadTable(p, {"premise", "hypothesis", "y"}, *toy_);
    QCOMPARE(ds.numLabels, 3);  // integer labels 0..2 as they are
    QCOMPARE(toStrings(ds.labelNames), (QStringList{"0", "1", "2"}));
    QCOMPARE(labelsOf(ds), (QList<int>{2, 0, -1}));  // empty label: no label; the blank line is no row
    const std::string a = "A man.", b = "A person.";
    QCOMPARE(toList(ds.examples[0].ids), toList(toy_->encode(a, &b).ids));
    QCOMPARE(toList(ds.examples[0].typeIds), toList(toy_->encode(a, &b).typeIds));

    // No header: columns are named by position.
    const std::string raw = write("raw.tsv", "x\t1\ny\t0\n");
    TableOptions noHeader;
    noHeader.header = false;
    QCOMPARE(labelsOf(loadTable(raw, {"0", "", "1"}, *toy_, noHeader)), (QList<int>{1, 0}));

    // A TSV field with quotes is literal unless asked otherwise.
    const std::string quoted = write("quoted.tsv", "text\tlabel\n\"a\tb\"\t1\n");
    QVERIFY(QString::fromStdString(errorOf([&] { loadTable(quoted, {"text", "", "label"}, *toy_); }))
                .endsWith(":2: wrong column count: expected 2, got 3" + kSkipHint));
    TableOptions tsvQuotes;
    tsvQuotes.tsvQuoting = true;
    const Dataset q = loadTable(quoted, {"text", "", "label"}, *toy_, tsvQuotes);
    QCOMPARE(toList(q.examples[0].ids), toList(toy_->encode("a\tb").ids));
  }

  void jsonl() {
    const std::string p = write("data.jsonl",
        "{\"text\": \"good film\", \"label\": \"positive\", \"extra\": 1}\n"
        "\n"
        "{\"text\": \"bad film\", \"label\": \"negative\"}\n"
        "{\"text\": \"unknown\", \"label\": null}\n"
        "{\"text\": \"fine\"}\n");
    const Dataset ds = loadTable(p, {"text", "", "label"}, *toy_);
    QCOMPARE(toStrings(ds.labelNames), (QStringList{"negative", "positive"}));
    QCOMPARE(labelsOf(ds), (QList<int>{1, 0, -1, -1}));
    QCOMPARE(toList(ds.examples[1].ids), toList(toy_->encode("bad film").ids));

    const std::string numbers = write("numbers.jsonl", "{\"t\": \"a\", \"y\": 1}\n{\"t\": \"b\", \"y\": 0}\n{\"t\": \"c\", \"y\": true}\n");
    QCOMPARE(labelsOf(loadTable(numbers, {"t", "", "y"}, *toy_)), (QList<int>{1, 0, 1}));
    TableOptions regression;
    regression.kind = TaskKind::Regression;
    const std::string scores = write("scores.jsonl", "{\"t\": \"a\", \"y\": 0.25}\n{\"t\": \"b\", \"y\": 4}\n");
    const Dataset r = loadTable(scores, {"t", "", "y"}, *toy_, regression);
    QCOMPARE(r.examples[0].target, 0.25);
    QCOMPARE(r.examples[1].target, 4.0);
    // An integer above 2^63 is read as written, not wrapped to -1 ("no label") or a negative.
    const std::string huge = write("huge.jsonl", "{\"t\": \"a\", \"y\": 18446744073709551615}\n{\"t\": \"b\", \"y\": 9223372036854775809}\n");
    QCOMPARE(loadTable(huge, {"t", "", "y"}, *toy_, regression).examples[0].target, 18446744073709551615.0);
    const Dataset named = loadTable(huge, {"t", "", "y"}, *toy_);
    QCOMPARE(toStrings(named.labelNames), (QStringList{"18446744073709551615", "9223372036854775809"}));
    QCOMPARE(labelsOf(named), (QList<int>{0, 1}));
  }

  // Train and eval files read apart infer their own sorted label names: train negative, neutral,
  // positive; eval negative, positive, where "positive" alone is 1 (= neutral in training).
  // adoptTrainingLabels re-numbers eval by name, as Hugging Face fixes label2id from training.
  void evalTakesTrainingLabels() {
    const std::string train = write("sent_train.csv", "text,label\ngood,positive\nmeh,neutral\nbad,negative\nfine,positive\n");
    const std::string eval = write("sent_eval.jsonl",
        "{\"text\": \"great\", \"label\": \"positive\"}\n"
        "{\"text\": \"awful\", \"label\": \"negative\"}\n"
        "{\"text\": \"unsure\", \"label\": null}\n"
        "{\"text\": \"nice\", \"label\": \"positive\"}\n");
    const Dataset t = loadTable(train, {"text", "", "label"}, *toy_);
    QCOMPARE(toStrings(t.labelNames), (QStringList{"negative", "neutral", "positive"}));
    QCOMPARE(labelsOf(t), (QList<int>{2, 1, 0, 2}));
    Dataset e = loadTable(eval, {"text", "", "label"}, *toy_);
    QCOMPARE(labelsOf(e), (QList<int>{1, 0, -1, 1}));  // on its own: positive = 1
    adoptTrainingLabels(e, t);
    QCOMPARE(labelsOf(e), (QList<int>{2, 0, -1, 2}));
    QCOMPARE(toStrings(e.labelNames), (QStringList{"negative", "neutral", "positive"}));
    QCOMPARE(e.numLabels, 3);
    QCOMPARE(toList(e.examples[0].ids), toList(toy_->encode("great").ids));

    // A label that training does not have: an error naming the eval file, the label and the
    // training labels.
    const std::string extra = write("sent_extra.csv", "text,label\nok,positive\nhm,mixed\n");
    Dataset x = loadTable(extra, {"text", "", "label"}, *toy_);
    QCOMPARE(QString::fromStdString(errorOf([&] { adoptTrainingLabels(x, t); })),
             QString::fromStdString(extra + ": evaluation label not in the training set: expected one of "
                                    "negative, neutral, positive (from " + train + "), got 'mixed' "
                                    "(add it to the dataset's labels, or fix the file)"));

    // Integer labels infer 0..max per file: eval with 0 and 2 ("2.0") only keeps 2 = 2, and an
    // index that training's 0..2 lacks is refused.
    const std::string itrain = write("int_train.csv", "text,label\na,0\nb,1\nc,2\n");
    const std::string ieval = write("int_eval.csv", "text,label\na,2.0\nb,0\nc,-1\n");
    const Dataset it = loadTable(itrain, {"text", "", "label"}, *toy_);
    Dataset ie = loadTable(ieval, {"text", "", "label"}, *toy_);
    adoptTrainingLabels(ie, it);
    QCOMPARE(labelsOf(ie), (QList<int>{2, 0, -1}));
    QCOMPARE(ie.numLabels, 3);
    Dataset big = loadTable(write("int_big.csv", "text,label\na,3\nb,0\n"), {"text", "", "label"}, *toy_);
    QVERIFY(QString::fromStdString(errorOf([&] { adoptTrainingLabels(big, it); }))
                .contains("evaluation label not in the training set: expected one of 0, 1, 2 (from " +
                          QString::fromStdString(itrain) + "), got '3'"));
    // String training labels do not take an index from eval: "1" is not a name there.
    Dataset numeric = loadTable(write("num_eval.csv", "text,label\na,1\n"), {"text", "", "label"}, *toy_);
    QVERIFY(QString::fromStdString(errorOf([&] { adoptTrainingLabels(numeric, t); })).contains("got '1'"));

    // Regression and causal LM sets are left alone.
    TableOptions regression;
    regression.kind = TaskKind::Regression;
    Dataset r = loadTable(write("reg_eval.csv", "text,y\na,0.5\n"), {"text", "", "y"}, *toy_, regression);
    adoptTrainingLabels(r, t);
    QCOMPARE(r.numLabels, 1);
    QCOMPARE(r.examples[0].target, 0.5);
  }

  // In regression only an empty or missing value (JSON null) is "no label"; -1 is a target.
  // Classification keeps -1 as "no label" (GLUE's test splits).
  void regressionMinusOneIsAValue() {
    TableOptions regression;
    regression.kind = TaskKind::Regression;
    const std::string csv = write("minus.csv", "text,y\na,-1\nb,0.5\nc,\nd,-1.0\ne,1\n");
    const Dataset r = loadTable(csv, {"text", "", "y"}, *toy_, regression);
    QCOMPARE(static_cast<int>(r.examples.size()), 5);
    QList<bool> has;
    QList<double> targets;
    for (const Example& e : r.examples) {
      has.push_back(e.hasLabel);
      if (e.hasLabel) targets.push_back(e.target);
    }
    QCOMPARE(has, (QList<bool>{true, true, false, true, true}));
    QCOMPARE(targets, (QList<double>{-1, 0.5, -1, 1}));
    QVERIFY(std::isnan(r.examples[2].target));  // no label: NaN, which the loss ignores
    const std::string jsonl = write("minus.jsonl", "{\"t\": \"a\", \"y\": -1}\n{\"t\": \"b\", \"y\": null}\n{\"t\": \"c\"}\n{\"t\": \"d\", \"y\": \"-1\"}\n");
    const Dataset j = loadTable(jsonl, {"t", "", "y"}, *toy_, regression);
    QCOMPARE(static_cast<int>(j.examples.size()), 4);
    QCOMPARE(j.examples[0].hasLabel, true);
    QCOMPARE(j.examples[0].target, -1.0);
    QCOMPARE(j.examples[1].hasLabel, false);
    QCOMPARE(j.examples[2].hasLabel, false);
    QCOMPARE(j.examples[3].target, -1.0);
    // The same file as classification: -1 is no label (Hugging Face's convention: SNLI's rows
    // without a gold label), and a listed -1 is a class.
    const std::string minus = write("minus_cls.csv", "text,y\na,-1\nb,1\nc,\nd,-1.0\ne,0\n");
    const Dataset c = loadTable(minus, {"text", "", "y"}, *toy_);
    QCOMPARE(labelsOf(c), (QList<int>{-1, 1, -1, -1, 0}));
    QCOMPARE(c.numLabels, int64_t(2));
    TableOptions signs;
    signs.labels = {"-1", "0", "1"};
    QCOMPARE(labelsOf(loadTable(minus, {"text", "", "y"}, *toy_, signs)), (QList<int>{0, 2, -1, 0, 1}));
    // -1 and 1 with no 0: read as "no label", the file would train on its +1 rows alone,
    // silently; refused until the label list says.
    const std::string pm = write("plus_minus.csv", "text,y\na,-1\nb,1\nc,-1\n");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadTable(pm, {"text", "", "y"}, *toy_); })),
             QString::fromStdString(pm + ": field 'y': -1 reads as \"no label\", and no row has the class 0: got 2 rows "
                                    "of -1, beside classes 1 to 1 (if -1 is a class, list the classes in the dataset's "
                                    "\"labels\", such as [\"-1\", \"1\"])"));
    signs.labels = {"-1", "1"};
    QCOMPARE(labelsOf(loadTable(pm, {"text", "", "y"}, *toy_, signs)), (QList<int>{0, 1, 0}));
    // A test split, all -1: no labels, no question.
    QCOMPARE(labelsOf(loadTable(write("minus_all.csv", "text,y\na,-1\nb,-1\n"), {"text", "", "y"}, *toy_)), (QList<int>{-1, -1}));
  }

  void tableBadRows_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<bool>("regression");
    QTest::addColumn<QStringList>("labels");  // explicit label set
    QTest::addColumn<QString>("where");
    QTest::addColumn<int>("goodRows");
    QTest::newRow("csv wrong column count") << "t.csv" << QByteArray("text,label\na,1\nb,0,9\n") << false << QStringList{}
        << ":3: wrong column count: expected 2, got 3" << 1;
    QTest::newRow("csv label outside explicit set") << "t.csv" << QByteArray("text,label\na,pos\nb,meh\n") << false
        << QStringList{"neg", "pos"} << ":3: field 'label': label outside the label set: expected 0 or 1, or a name: neg, pos, got meh" << 1;
    QTest::newRow("csv negative integer label") << "t.csv" << QByteArray("text,label\na,1\nb,-3\n") << false << QStringList{}
        << ":3: field 'label': label outside the label set: expected 0 or 1, got -3" << 1;
    QTest::newRow("csv non-numeric regression label") << "t.csv" << QByteArray("text,label\na,0.5\nb,high\n") << true
        << QStringList{} << ":3: field 'label': non-numeric label: got 'high'" << 1;
    QTest::newRow("csv empty text") << "t.csv" << QByteArray("text,label\n\"\",1\nb,0\n") << false << QStringList{}
        << ":2: field 'text': empty text" << 1;
    QTest::newRow("tsv invalid UTF-8") << "t.tsv" << QByteArray("text\tlabel\na\xe2\x82\t1\nb\t0\n") << false << QStringList{}
        << ":2: field 'text': invalid UTF-8 at byte 1" << 1;
    QTest::newRow("jsonl invalid JSON") << "t.jsonl" << QByteArray("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\",\n") << false
        << QStringList{} << ":2: invalid JSON" << 1;
    QTest::newRow("jsonl missing text") << "t.jsonl" << QByteArray("{\"text\": \"a\", \"label\": 1}\n{\"txt\": \"b\", \"label\": 0}\n")
        << false << QStringList{} << ":2: field 'text': missing field: got keys label, txt" << 1;
    QTest::newRow("jsonl text not a string") << "t.jsonl" << QByteArray("{\"text\": 5, \"label\": 1}\n{\"text\": \"b\", \"label\": 0}\n")
        << false << QStringList{} << ":1: field 'text': field is not a string: got 5" << 1;
    QTest::newRow("jsonl label not a number") << "t.jsonl"
        << QByteArray("{\"text\": \"a\", \"label\": [1]}\n{\"text\": \"b\", \"label\": 0}\n") << false << QStringList{}
        << ":1: field 'label': non-numeric label: got [1]" << 1;
  }
  void tableBadRows() {
    QFETCH(QString, file);
    QFETCH(QByteArray, content);
    QFETCH(bool, regression);
    QFETCH(QStringList, labels);
    QFETCH(QString, where);
    QFETCH(int, goodRows);
    const std::string p = write(file.toStdString(), content.toStdString());
    TableOptions options;
    options.kind = regression ? TaskKind::Regression : TaskKind::Classification;
    for (const QString& l : labels) options.labels.push_back(l.toStdString());
    const QString expected = QString::fromStdString(p) + where;
    QCOMPARE(QString::fromStdString(errorOf([&] { loadTable(p, {"text", "", "label"}, *toy_, options); })), expected + kSkipHint);
    options.badRows = BadRows::Skip;
    const Dataset ds = loadTable(p, {"text", "", "label"}, *toy_, options);
    QCOMPARE(static_cast<int>(ds.examples.size()), goodRows);
    QCOMPARE(ds.skippedRows, 1);
    QCOMPARE(QString::fromStdString(ds.skipped.front()), expected);
  }

  // Found by fuzz/fuzz_table (docs/reliability.md): integer labels up to a large index make a
  // label set as large, and each row's label was looked up by a scan of every name (and each
  // bad row's message scanned them again): 1,937 bytes took 2.2 s, a 100,000-row file with an id
  // column as the label would take hours. Lookups are now by hash; the values must not change.
  void tableWithManyIntegerClasses() {
    constexpr int kRows = 100000, kBad = 2000;
    std::string csv = "text,label\n";
    for (int i = kRows - 1; i >= 0; --i) csv += "a," + std::to_string(i) + "\n";
    for (int i = 0; i < kBad; ++i) csv += "b,-5\n";
    const std::string p = write("many_classes.csv", csv);
    TableOptions skip;
    skip.badRows = BadRows::Skip;
    const Dataset ds = loadTable(p, {"text", "", "label"}, *toy_, skip);
    QCOMPARE(ds.numLabels, int64_t(kRows));
    QCOMPARE(static_cast<int>(ds.examples.size()), kRows);
    for (int i = 0; i < kRows; ++i) QCOMPARE(ds.examples[static_cast<size_t>(i)].label, int64_t(kRows - 1 - i));
    QCOMPARE(ds.skippedRows, int64_t(kBad));
    QCOMPARE(QString::fromStdString(ds.skipped.front()),
             QString::fromStdString(p + ":100002: field 'label': label outside the label set: expected 0 to 99999, got -5"));
    // Names first, then an index in range; the first of two equal names wins.
    TableOptions named;
    named.labels = {"x", "y", "x"};
    const Dataset n = loadTable(write("named.csv", "text,label\na,x\nb,y\nc,2\nd,1.0\n"), {"text", "", "label"}, *toy_, named);
    QCOMPARE(labelsOf(n), (QList<int>{0, 1, 2, 1}));
  }

  // Found by a review of the table code (session 14): with names that are numbers, "1.0" was read
  // as position 1, the class "2"; a -1 the list names was dropped as "no label"; a JSON true
  // was position 1 whatever the names.
  void explicitLabelsThatAreNumbers() {
    TableOptions stars;
    stars.labels = {"1", "2", "3", "4", "5"};
    stars.badRows = BadRows::Skip;
    const std::string p = write("stars.csv", "text,label\na,1.0\nb,5.0\nc,5\nd,-1\ne,0\nf,2\n");
    const Dataset s = loadTable(p, {"text", "", "label"}, *toy_, stars);
    QCOMPARE(labelsOf(s), (QList<int>{0, 4, 4, -1, 1}));
    QCOMPARE(s.skippedRows, int64_t(1));
    QCOMPARE(QString::fromStdString(s.skipped.front()),
             QString::fromStdString(p + ":6: field 'label': label outside the label set: expected one of 1, 2, 3, 4, 5, got 0"));
    TableOptions signs;
    signs.labels = {"-1", "0", "1"};
    const Dataset g = loadTable(write("signs.csv", "text,label\na,-1\nb,0\nc,1\nd,-1.0\ne,\n"), {"text", "", "label"}, *toy_, signs);
    QCOMPARE(labelsOf(g), (QList<int>{0, 1, 2, 0, -1}));
    const std::string bools = write("bools.jsonl", "{\"t\": \"a\", \"y\": true}\n{\"t\": \"b\", \"y\": false}\n{\"t\": \"c\", \"y\": 0}\n");
    // By value: "1.0" names the class that a label 1 or "01" is.
    TableOptions decimals;
    decimals.labels = {"1.0", "2.0"};
    QCOMPARE(labelsOf(loadTable(write("decimals.csv", "text,label\na,1\nb,2.0\nc,01\n"), {"text", "", "label"}, *toy_, decimals)),
             (QList<int>{0, 1, 0}));
    TableOptions named;
    named.labels = {"true", "false"};
    QCOMPARE(labelsOf(loadTable(bools, {"t", "", "y"}, *toy_, named)), (QList<int>{0, 1, 0}));
    named.labels = {"negative", "positive"};
    QCOMPARE(labelsOf(loadTable(bools, {"t", "", "y"}, *toy_, named)), (QList<int>{1, 0, 0}));
    QCOMPARE(labelsOf(loadTable(bools, {"t", "", "y"}, *toy_)), (QList<int>{1, 0, 0}));  // inferred: 0 and 1
    // A refused boolean is quoted as the file has it.
    named.labels = {"-1", "1"};
    QVERIFY(QString::fromStdString(errorOf([&] { loadTable(bools, {"t", "", "y"}, *toy_, named); }))
                .endsWith("label outside the label set: expected one of -1, 1, got false" + kSkipHint));
  }

  // Found by reading the table code (finding 22, docs/reliability.md): nlohmann parses nested
  // values without recursion, but the message for a bad row dumped the value, recursing once per
  // level: 50,000 nested brackets overflowed the stack. Such values are refused after parsing,
  // in every JSON reader; 10,000 levels still read (and dump) fine.
  void deeplyNestedJsonIsRefused() {
    auto nested = [](int depth) { return std::string(size_t(depth - 1), '[') + "1" + std::string(size_t(depth - 1), ']'); };
    const std::string atLimit = write("at_limit.json", nested(fw::kMaxJsonDepth));
    QCOMPARE(fw::readJsonFile(atLimit).dump().size(), size_t(2 * fw::kMaxJsonDepth - 1));
    const std::string past = write("past_limit.json", nested(fw::kMaxJsonDepth + 1));
    QCOMPARE(QString::fromStdString(errorOf([&] { fw::readJsonFile(past); })),
             QString::fromStdString(past + ": JSON nested deeper than 10000 levels (the file is damaged or not the JSON file expected here)"));
    QVERIFY(!fw::jsonDeeperThan(nlohmann::json::parse("[[1], 2]"), 3));
    QVERIFY(fw::jsonDeeperThan(nlohmann::json::parse("[[1], 2]"), 2));
    QVERIFY(fw::jsonDeeperThan(nlohmann::json::parse("{\"a\": {\"b\": []}}"), 2));

    const std::string deep = std::string(50000, '[') + std::string(50000, ']');
    const std::string table = write("deep.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": " + deep + "}\n");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadTable(table, {"text", "", "label"}, *toy_); })),
             QString::fromStdString(table + ":2: JSON nested deeper than 10000 levels") + kSkipHint);
    TableOptions skip;
    skip.badRows = BadRows::Skip;
    const Dataset kept = loadTable(table, {"text", "", "label"}, *toy_, skip);
    QCOMPARE(labelsOf(kept), (QList<int>{1}));
    QCOMPARE(kept.skippedRows, int64_t(1));
    const std::string text = write("deep_text.jsonl", "{\"text\": " + deep + ", \"label\": 1}\n");
    QCOMPARE(loadTable(text, {"text", "", "label"}, *toy_, skip).skippedRows, int64_t(1));

    const std::string instructions = write("deep_instructions.jsonl",
        "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": " + deep + ", \"output\": \"b\"}\n");
    QVERIFY(QString::fromStdString(errorOf([&] { loadInstructions(instructions, *toy_); }))
                .startsWith(QString::fromStdString(instructions + ":2: JSON nested deeper than 10000 levels")));
    InstructionOptions skipInstructions;
    skipInstructions.badRows = BadRows::Skip;
    QCOMPARE(loadInstructions(instructions, *toy_, skipInstructions).skippedRows, int64_t(1));
  }

  void tableConfigurationErrors() {
    const std::string p = write("cols.csv", "sentence,label\na,1\n");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadTable(p, {"text", "", "label"}, *toy_); })),
             QString::fromStdString(p + ": field 'text': column not found: expected one of sentence, label "
                                        "(the column mapping names header columns)"));
    const std::string unknown = write("data.parquet", "x");
    QVERIFY(QString::fromStdString(errorOf([&] { loadTable(unknown, {"text", "", ""}, *toy_); }))
                .contains("cannot tell the table format from the file name"));
    // No label column at all: a prediction set.
    const Dataset unlabelled = loadTable(p, {"sentence", "", ""}, *toy_);
    QCOMPARE(labelsOf(unlabelled), (QList<int>{-1}));
  }

  // ---- Alpaca instructions ----

  void alpacaTemplateIsStanfordsText() {
    const PromptTemplate& t = alpacaTemplate();
    QCOMPARE(QString::fromStdString(formatPrompt(t, "Add.", "2 and 3")),
             QString("Below is an instruction that describes a task, paired with an input that provides further context. "
                     "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n"
                     "### Input:\n2 and 3\n\n### Response:"));
    QCOMPARE(QString::fromStdString(formatPrompt(t, "Say hi.", "")),
             QString("Below is an instruction that describes a task. Write a response that appropriately completes the "
                     "request.\n\n### Instruction:\nSay hi.\n\n### Response:"));
    // Placeholders in the data are not substituted again.
    QCOMPARE(QString::fromStdString(formatPrompt({"{instruction}|{input}", "{instruction}"}, "use {input}", "x")),
             QString("use {input}|x"));
  }

  void alpacaRealFile() {
    const std::string p = sharedDir() + "/data/instructions/alpaca_data_1k.json";
    if (!exists(p)) QSKIP(qPrintable("missing " + QString::fromStdString(p)));
    if (!gpt2_) QSKIP(qPrintable("missing " + QString::fromStdString(sharedDir()) + "/data/tokenizers/gpt2"));
    InstructionOptions options;
    options.maxLength = 0;
    const Dataset ds = loadInstructions(p, *gpt2_, options);
    QCOMPARE(static_cast<int>(ds.examples.size()), 1000);
    QCOMPARE(ds.kind, TaskKind::CausalLM);
    QCOMPARE(ds.skippedRows, 0);

    // Every record against the tokenizer directly, with the prompt texts written out here.
    std::ifstream in(p);
    const nlohmann::json records = nlohmann::json::parse(in);
    const std::string head = "Below is an instruction that describes a task";
    const std::string tail = "Write a response that appropriately completes the request.\n\n### Instruction:\n";
    int withInput = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string instruction = records[i]["instruction"], input = records[i]["input"], output = records[i]["output"];
      const std::string prompt = input.empty()
          ? head + ". " + tail + instruction + "\n\n### Response:"
          : head + ", paired with an input that provides further context. " + tail + instruction + "\n\n### Input:\n" + input +
                "\n\n### Response:";
      withInput += !input.empty();
      // Stanford Alpaca's train.py: prompt + output tokenized as one text, then eos; the loss
      // masked over as many tokens as the prompt alone has.
      const size_t promptLen = gpt2_->encode(prompt).ids.size();
      std::vector<int64_t> ids = gpt2_->encode(prompt + output).ids;
      ids.push_back(50256);  // <|endoftext|>
      std::vector<int64_t> labels = ids;
      std::fill(labels.begin(), labels.begin() + static_cast<long>(promptLen), -100);
      const Example& e = ds.examples[i];
      QCOMPARE(toList(e.ids), toList(ids));
      QCOMPARE(toList(e.lmLabels), toList(labels));
    }
    QCOMPARE(withInput, 392);

    // Record 0 by hand: "... ### Response:" ends in ### ĠResponse : (Stanford's prompt has no line
    // break before the response); the output "They walked to a nearby store." follows at once as
    // They Ġwalked Ġto Ġa Ġnearby Ġstore . then <|endoftext|> (vocab.json ids).
    const Example& first = ds.examples.front();
    QCOMPARE(first.ids.front(), 21106);  // "Below"
    const size_t n = first.ids.size();
    QCOMPARE(toList(std::vector<int64_t>(first.ids.end() - 11, first.ids.end())),
             (QList<qlonglong>{21017, 18261, 25, 2990, 6807, 284, 257, 6716, 3650, 13, 50256}));
    QCOMPARE(toList(std::vector<int64_t>(first.lmLabels.end() - 9, first.lmLabels.end())),
             (QList<qlonglong>{-100, 2990, 6807, 284, 257, 6716, 3650, 13, 50256}));
    QVERIFY(n > 11);

    // Truncation to 64 tokens: long records are cut, prompts of 64 tokens or more are bad rows.
    InstructionOptions cut;
    cut.maxLength = 64;
    cut.badRows = BadRows::Skip;
    const Dataset short64 = loadInstructions(p, *gpt2_, cut);
    QCOMPARE(static_cast<int64_t>(short64.examples.size()) + short64.skippedRows, int64_t{1000});
    QVERIFY(short64.skippedRows > 0);
    for (const Example& e : short64.examples) {
      QVERIFY(e.ids.size() <= 64);
      QCOMPARE(e.lmLabels.size(), e.ids.size());
      QVERIFY(e.lmLabels.back() != -100);
    }
    QVERIFY(QString::fromStdString(short64.skipped.front()).contains("the prompt leaves no room for the response"));
  }

  // A template ending in a space: Alpaca's one-text encoding gives GPT-2's "ĠParis" (6342), where
  // encoding the prompt and the response apart gave "Ġ" (220) then "Paris" (40313).
  void instructionTemplateEndingInSpace() {
    if (!gpt2_) QSKIP(qPrintable("missing " + QString::fromStdString(sharedDir()) + "/data/tokenizers/gpt2"));
    const std::string p = write("space.jsonl", "{\"instruction\": \"What is the capital of France?\", \"output\": \"Paris.\"}\n");
    InstructionOptions options;
    options.prompt = {"Q: {instruction} {input}\nA: ", "Q: {instruction}\nA: "};
    const Dataset ds = loadInstructions(p, *gpt2_, options);
    QCOMPARE(static_cast<int>(ds.examples.size()), 1);
    const Example& e = ds.examples[0];
    const std::string prompt = "Q: What is the capital of France?\nA: ";
    std::vector<int64_t> ids = gpt2_->encode(prompt + "Paris.").ids;
    ids.push_back(50256);
    QCOMPARE(toList(e.ids), toList(ids));
    // ... A : ĠParis . <|endoftext|>
    QCOMPARE(toList(e.ids).mid(e.ids.size() - 5), (QList<qlonglong>{32, 25, 6342, 13, 50256}));
    QVERIFY(std::find(e.ids.begin(), e.ids.end(), 40313) == e.ids.end());
    // The prompt alone ends in "Ġ", so its length also covers "ĠParis", as in Alpaca's train.py.
    const std::vector<int64_t> promptIds = gpt2_->encode(prompt).ids;
    QCOMPARE(promptIds.back(), 220);
    QCOMPARE(promptIds.size(), e.ids.size() - 2);
    QCOMPARE(toList(e.lmLabels), toList(std::vector<int64_t>(promptIds.size(), -100)) + (QList<qlonglong>{13, 50256}));
  }

  void instructionsCustomTemplateAndJsonl() {
    const std::string p = write("inst.jsonl",
        "{\"instruction\": \"add\", \"input\": \"2 3\", \"output\": \"5\"}\n"
        "{\"instruction\": \"greet\", \"output\": \"hi\"}\n");
    InstructionOptions options;
    options.prompt = {"q {instruction} {input} a", "q {instruction} a"};
    const Dataset ds = loadInstructions(p, *toy_, options);
    QCOMPARE(static_cast<int>(ds.examples.size()), 2);
    // The toy BERT tokenizer adds [CLS] ... [SEP] to the prompt (as tokenizer(prompt) would) and
    // its end-of-text token is [SEP] (3).
    // Alpaca's way: "q greet a" + "hi" is one text ("q greet ahi", so the toy spells a ##h ##i).
    const std::vector<int64_t> prompt = toy_->encode("q greet a").ids;
    std::vector<int64_t> ids = toy_->encode("q greet ahi").ids;
    ids.push_back(3);
    QCOMPARE(toList(ds.examples[1].ids), toList(ids));
    QCOMPARE(static_cast<size_t>(std::count(ds.examples[1].lmLabels.begin(), ds.examples[1].lmLabels.end(), -100)), prompt.size());
    // The toy's [SEP] closes the one text, before the end-of-text [SEP].
    QCOMPARE(toList(ds.examples[0].ids), toList(toy_->encode("q add 2 3 a5").ids) + (QList<qlonglong>{3}));
    QCOMPARE(static_cast<size_t>(std::count(ds.examples[0].lmLabels.begin(), ds.examples[0].lmLabels.end(), -100)),
             toy_->encode("q add 2 3 a").ids.size());
  }

  void instructionBadRecords_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("where");
    QTest::addColumn<int>("goodRows");
    const QByteArray good = "[\n  {\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"},\n";
    QTest::newRow("instruction not a string") << QByteArray(good + "  {\"instruction\": 5, \"output\": \"b\"}\n]\n")
        << ":3: field '[1].instruction': field is not a string, got 5" << 1;
    QTest::newRow("output missing") << QByteArray(good + "  {\n    \"instruction\": \"a\"\n  }\n]\n")
        << ":3: field '[1].output': missing field" << 1;
    QTest::newRow("empty output") << QByteArray(good + "  {\"instruction\": \"a\", \"output\": \"  \"}\n]\n")
        << ":3: field '[1].output': empty text" << 1;
    QTest::newRow("input not a string") << QByteArray(good + "\n\n  {\"instruction\": \"a\", \"input\": [], \"output\": \"b\"}]")
        << ":5: field '[1].input': field is not a string, got []" << 1;
    QTest::newRow("whitespace instruction") << QByteArray(good + "  {\"instruction\": \"a\", \"output\": \"b\"},\n  {\"instruction\": \"\\n\\t\", \"output\": \"b\"}]")
        << ":4: field '[2].instruction': empty text" << 2;
    QTest::newRow("not an object") << QByteArray(good + "  \"just text, with [brackets]\",\n  {\"instruction\": \"a\", \"output\": \"b\"}]")
        << ":3: field '[1]': record is not a JSON object: got a JSON string" << 2;
  }
  void instructionBadRecords() {
    QFETCH(QByteArray, content);
    QFETCH(QString, where);
    QFETCH(int, goodRows);
    const std::string p = write("bad.json", content.toStdString());
    InstructionOptions options;
    const QString expected = QString::fromStdString(p) + where;
    QCOMPARE(QString::fromStdString(errorOf([&] { loadInstructions(p, *toy_, options); })), expected + kSkipHint);
    options.badRows = BadRows::Skip;
    const Dataset ds = loadInstructions(p, *toy_, options);
    QCOMPARE(static_cast<int>(ds.examples.size()), goodRows);
    QCOMPARE(ds.skippedRows, 1);
    QCOMPARE(QString::fromStdString(ds.skipped.front()), expected);
  }

  void instructionFileErrors() {
    const std::string object = write("obj.json", "{\"instruction\": \"a\", \"output\": \"b\"} trailing");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadInstructions(object, *toy_); })),
             QString::fromStdString(object + ":1: invalid JSON") + kSkipHint);
    const std::string syntax = write("syntax.json", "[\n {\"instruction\": \"a\",\n \"output\": }\n]");
    QVERIFY(QString::fromStdString(errorOf([&] { loadInstructions(syntax, *toy_); })).startsWith(QString::fromStdString(syntax + ":3: invalid JSON")));
    // JSON text must be UTF-8: an invalid byte is a syntax error of the whole file, not a bad row.
    const std::string bytes = write("bytes.json", "[\n {\"instruction\": \"x\xc0\xaf\", \"output\": \"b\"}]");
    QVERIFY(QString::fromStdString(errorOf([&] { loadInstructions(bytes, *toy_); }))
                .startsWith(QString::fromStdString(bytes + ":2: invalid JSON (column 20): syntax error while parsing value - invalid string: ill-formed UTF-8 byte")));
    // In JSONL it is one bad line.
    InstructionOptions skip;
    skip.badRows = BadRows::Skip;
    const std::string lines = write("bytes.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"x\xc0\", \"output\": \"b\"}\n");
    const Dataset ds = loadInstructions(lines, *toy_, skip);
    QCOMPARE(static_cast<int>(ds.examples.size()), 1);
    QCOMPARE(QString::fromStdString(ds.skipped.front()), QString::fromStdString(lines + ":2: invalid JSON"));
    const std::string number = write("number.json", "42");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadInstructions(number, *toy_); })),
             QString::fromStdString(number + ": instruction data must be a JSON array of records (or JSONL): got a JSON number"));
  }

  // Found by fuzz/fuzz_instructions (docs/reliability.md): a number beyond double's range in an
  // instruction array made nlohmann throw out_of_range, which escaped as a non-fw::Error. JSONL
  // lines were never affected (they parse without exceptions: a bad row).
  void fuzzFindingInstructionsNumberOverflow() {
    const std::string p = write("overflow.json",
        "[\n  {\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"},\n  {\"instruction\": \"c\", \"output\": -1e400}\n]\n");
    const std::string e = errorOf([&] { loadInstructions(p, *toy_); });
    QVERIFY2(e.find(p + ":3: invalid JSON: number overflow parsing '-1e400'") != std::string::npos, e.c_str());
    const std::string jl = write("overflow.jsonl", "{\"instruction\": \"c\", \"output\": 1e400}\n");
    InstructionOptions skip;
    skip.badRows = BadRows::Skip;
    QCOMPARE(loadInstructions(jl, *toy_, skip).skippedRows, int64_t(1));
  }
};

QTEST_APPLESS_MAIN(TestDatasets)
#include "tst_datasets.moc"
