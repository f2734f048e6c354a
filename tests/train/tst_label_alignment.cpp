// alignLabelsToConfig against run_glue.py's rule: a checkpoint that names the data's classes in
// another order (roberta-large-mnli: 0 = CONTRADICTION) gets the data renumbered to its ids; a
// config with no names of its own, the data's order, another class count or other classes
// changes nothing (the last with a note, as run_glue.py warns).
#include "train/label_alignment.h"

#include <QtTest/QtTest>

using fw::data::Dataset;
using fw::data::TaskKind;
using nlohmann::json;

namespace {

Dataset mnli(const std::vector<int64_t>& labels) {
  Dataset d;
  d.kind = TaskKind::Classification;
  d.numLabels = 3;
  d.labelNames = {"entailment", "neutral", "contradiction"};
  for (auto l : labels) {
    fw::data::Example ex;
    ex.label = l;
    ex.hasLabel = l >= 0;
    d.examples.push_back(ex);
  }
  return d;
}

std::vector<int64_t> labelsOf(const Dataset& d) {
  std::vector<int64_t> out;
  for (const auto& ex : d.examples) out.push_back(ex.label);
  return out;
}

}  // namespace

class TestLabelAlignment : public QObject {
  Q_OBJECT
private slots:
  void renumbersToTheCheckpointsIds() {
    Dataset train = mnli({0, 1, 2, 0}), eval = mnli({2, -1, 1});
    // roberta-large-mnli's config (upper case, as on the Hub).
    const json config = {{"label2id", {{"CONTRADICTION", 0}, {"NEUTRAL", 1}, {"ENTAILMENT", 2}}}};
    const auto note = fw::train::alignLabelsToConfig({&train, &eval}, config);
    QCOMPARE(labelsOf(train), (std::vector<int64_t>{2, 1, 0, 2}));
    QCOMPARE(labelsOf(eval), (std::vector<int64_t>{0, -1, 1}));  // an unlabelled row stays so
    const std::vector<std::string> names{"contradiction", "neutral", "entailment"};
    QCOMPARE(train.labelNames, names);
    QCOMPARE(eval.labelNames, names);
    QVERIFY2(note.find("entailment 0→2") != std::string::npos && note.find("contradiction 2→0") != std::string::npos,
             note.c_str());
  }

  void leavesTheDataAlone_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<QString>("noteHas");
    QTest::newRow("no names") << R"({})" << "";
    QTest::newRow("default names") << R"({"label2id": {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}})" << "";
    QTest::newRow("the data's order") << R"({"label2id": {"Entailment": 0, "Neutral": 1, "Contradiction": 2}})" << "";
    QTest::newRow("two classes") << R"({"label2id": {"contradiction": 0, "entailment": 1}})" << "";
    QTest::newRow("an id twice") << R"({"label2id": {"contradiction": 0, "neutral": 0, "entailment": 2}})" << "";
    QTest::newRow("other classes") << R"({"label2id": {"negative": 0, "neutral": 1, "positive": 2}})"
                                   << "other classes (negative, neutral, positive) than the data's";
  }
  void leavesTheDataAlone() {
    QFETCH(QString, config);
    QFETCH(QString, noteHas);
    Dataset train = mnli({0, 1, 2});
    const auto note = fw::train::alignLabelsToConfig({&train}, json::parse(config.toStdString()));
    QCOMPARE(labelsOf(train), (std::vector<int64_t>{0, 1, 2}));
    QCOMPARE(train.labelNames, (std::vector<std::string>{"entailment", "neutral", "contradiction"}));
    if (noteHas.isEmpty()) QVERIFY2(note.empty(), note.c_str());
    else QVERIFY2(note.find(noteHas.toStdString()) != std::string::npos, note.c_str());
  }

  void onlyClassification() {
    Dataset reg = mnli({0, 1, 2});
    reg.kind = TaskKind::Regression;
    const json config = {{"label2id", {{"contradiction", 0}, {"neutral", 1}, {"entailment", 2}}}};
    QVERIFY(fw::train::alignLabelsToConfig({&reg}, config).empty());
    QCOMPARE(labelsOf(reg), (std::vector<int64_t>{0, 1, 2}));
  }
};

QTEST_GUILESS_MAIN(TestLabelAlignment)
#include "tst_label_alignment.moc"
