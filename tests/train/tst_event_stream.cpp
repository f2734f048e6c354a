// Training events as JSON lines (`fourierft train --events`, read by the window's ProcessRun):
// every observer call written by EventWriter comes back from replayEvent with the same values; a
// NaN loss survives as NaN; text that is not an event is left to the caller.
#include "train/event_stream.h"

#include <QtTest>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

using namespace fw::train;

namespace {

// Records every call as one line of text, so two recordings compare with QCOMPARE.
class Recorder : public TrainObserver {
public:
  std::vector<std::string> calls;
  void onLog(const std::string& line) override { calls.push_back("log " + line); }
  void onMethodStart(const std::string& m, int64_t total, int64_t trainable) override {
    calls.push_back("start " + m + " " + std::to_string(total) + " " + std::to_string(trainable));
  }
  void onStep(const StepEvent& e) override {
    std::ostringstream o;
    o.precision(17);
    o << "step " << e.method << " " << e.step << "/" << e.totalSteps << " epoch " << e.epoch << " loss " << e.loss
      << " lr " << e.lr << " sps " << e.samplesPerSecond << " tps " << e.tokensPerSecond << " mem " << e.memoryMiB
      << " peak " << e.peakMemoryMiB << " t " << e.elapsedSeconds << " eta " << e.etaSeconds;
    calls.push_back(o.str());
  }
  void onEval(const EvalEvent& e) override {
    std::ostringstream o;
    o.precision(17);
    o << "eval " << e.method << " " << e.step << " " << e.epoch << " " << e.loss;
    for (const auto& [k, v] : e.metrics) o << " " << k << "=" << v;
    calls.push_back(o.str());
  }
  void onMethodFinished(const MethodResult& r) override {
    std::ostringstream o;
    o.precision(17);
    o << "done " << r.method << " " << r.type << " " << r.status << " " << r.trainableParameters << " " << r.steps
      << " " << r.seconds << " [" << r.error << "]";
    for (const auto& [k, v] : r.finalMetrics) o << " " << k << "=" << v;
    calls.push_back(o.str());
  }
  void onRunFolder(const std::string& f) override { calls.push_back("folder " + f); }
  void onFinished(const std::string& f, const std::string& status) override { calls.push_back("finished " + f + " " + status); }
};

void sendAll(TrainObserver& o) {
  o.onRunFolder("/runs/20261125-1200-x");
  o.onLog("fourierft: paused after step 3\nsecond line \"quoted\"");
  o.onMethodStart("fourierft", 40, 180);
  StepEvent s;
  s.method = "fourierft";
  s.step = 3;
  s.totalSteps = 40;
  s.epoch = 1;
  s.loss = 0.693147180559945;
  s.lr = 0.1 * 3 / 40;
  s.samplesPerSecond = 812.25;
  s.tokensPerSecond = 0;
  s.memoryMiB = 301.5;
  s.peakMemoryMiB = 310;
  s.elapsedSeconds = 0.125;
  s.etaSeconds = 1.5;
  o.onStep(s);
  EvalEvent e;
  e.method = "fourierft";
  e.step = 20;
  e.epoch = 1;
  e.loss = 0.5;
  e.metrics = {{"accuracy", 0.8910891089108911}, {"f1", 0.75}};
  o.onEval(e);
  MethodResult r;
  r.method = "fourierft";
  r.type = "fourierft";
  r.status = "finished";
  r.trainableParameters = 180;
  r.steps = 40;
  r.seconds = 11.25;
  r.finalMetrics = {{"accuracy", 0.5}};
  o.onMethodFinished(r);
  o.onFinished("/runs/20261125-1200-x", "finished");
}

std::vector<std::string> writtenLines(const std::function<void(TrainObserver&)>& send) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  EventWriter writer(out);
  send(writer);
  std::fclose(out);
  std::vector<std::string> lines;
  std::istringstream in(std::string(buffer, size));
  std::free(buffer);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

class TestEventStream : public QObject {
  Q_OBJECT
private slots:
  void roundTrip() {
    Recorder direct, replayed;
    sendAll(direct);
    const auto lines = writtenLines(sendAll);
    QCOMPARE(lines.size(), direct.calls.size());  // one line per event, newlines inside escaped
    for (const auto& line : lines) QVERIFY2(replayEvent(line, replayed), line.c_str());
    QCOMPARE(replayed.calls, direct.calls);
    QCOMPARE(QString::fromStdString(lines[3]).left(45), QString(R"({"epoch":1,"eta_s":1.5,"event":"step","loss":)"));
  }

  void nanLossIsNullOnTheWireAndNanAgain() {
    const auto lines = writtenLines([](TrainObserver& o) {
      StepEvent s;
      s.method = "lora";
      s.loss = std::nan("");
      o.onStep(s);
    });
    QCOMPARE(lines.size(), size_t(1));
    QVERIFY2(lines[0].find("\"loss\":null") != std::string::npos, lines[0].c_str());
    struct : TrainObserver {
      double loss = 0;
      void onStep(const StepEvent& e) override { loss = e.loss; }
    } seen;
    QVERIFY(replayEvent(lines[0], seen));
    QVERIFY(std::isnan(seen.loss));
  }

  void otherTextIsNotAnEvent() {
    Recorder r;
    QVERIFY(!replayEvent("== fourierft: 40 steps", r));
    QVERIFY(!replayEvent("{\"event\":\"unknown\"}", r));
    QVERIFY(!replayEvent("[1,2]", r));
    QVERIFY(!replayEvent("{\"event\":", r));
    QVERIFY(r.calls.empty());
    // Wrong-typed members read as empty or zero, never throw.
    QVERIFY(replayEvent(R"({"event":"method_start","method":7,"total_steps":"x"})", r));
    QCOMPARE(r.calls, std::vector<std::string>{"start  0 0"});
  }

  void invalidUtf8InALogLineIsReplaced() {
    const auto lines = writtenLines([](TrainObserver& o) { o.onLog(std::string("bad \xff byte")); });
    Recorder r;
    QVERIFY(replayEvent(lines.at(0), r));
    QCOMPARE(r.calls, std::vector<std::string>{"log bad \xEF\xBF\xBD byte"});
  }
};

QTEST_APPLESS_MAIN(TestEventStream)
#include "tst_event_stream.moc"
