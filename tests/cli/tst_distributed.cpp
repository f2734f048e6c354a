// Data-parallel training on c10d (Gloo over loopback) as a user starts it: `fourierft train
// --nproc 2` gives the losses, evaluation metrics and adapters of one process with the same
// global batch (FourierFT and LoRA, dropout off); a worker killed mid-run stops the other with an error naming it, the
// run is marked failed and resumes to the same losses; Ctrl-Z pauses the workers and stops the
// launcher, and continuing it ends the run with the same losses; a causal LM's loss, whose ranks
// hold different numbers of target tokens, is the mean over all of them, as in one process; a resume with another world size, a busy
// port and a batch that does not split are refused with a message.
#include "io/safetensors.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include "support/cli_process.h"
#include "support/test_support.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QThread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

namespace {

const char* kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

fw::test::CliRun fourierft(const QStringList& args) { return fw::test::runCli(args, 240000); }

nlohmann::json experiment(int epochs, int checkpointEvery) {
  return {{"schema_version", 1}, {"name", "dp"},
          {"model", {{"preset", "vit-fmnist"},
                     {"config", {{"num_hidden_layers", 1}, {"hidden_dropout_prob", 0.0},
                                 {"attention_probs_dropout_prob", 0.0}}}}},
          // 101 evaluation images: the last batch is short, so the ranks' shares differ.
          {"dataset", {{"kind", "idx_images"}, {"train", kImages}, {"eval", kImages}, {"classes", {0, 1}},
                       {"train_limit", 320}, {"eval_limit", 101}}},
          {"eval_every", 20}, {"eval_batch_size", 16},
          {"methods", {{{"type", "fourierft"}, {"n_frequency", 50}, {"scaling", 16.0}, {"lr", 0.1},
                        {"target_modules", {"query"}}},
                       {{"type", "lora"}, {"r", 4}, {"lr", 0.01}, {"target_modules", {"query", "value"}}}}},
          {"trainable_modules", {"classifier"}}, {"batch_size", 16}, {"epochs", epochs},
          {"checkpoint_every", checkpointEvery}, {"device", "cpu"}, {"seed", 3}};
}

using Losses = std::map<std::pair<std::string, int64_t>, double>;

// (method, step) -> loss, the last line for each (a resumed run repeats steps after its checkpoint).
Losses losses(const QString& run) {
  Losses out;
  for (const auto& j : fw::test::metricEvents(run.toStdString(), "step"))
    out[{j["method"].get<std::string>(), j["step"].get<int64_t>()}] = j["loss"].get<double>();
  return out;
}

std::vector<nlohmann::json> evals(const QString& run) { return fw::test::metricEvents(run.toStdString(), "eval"); }

nlohmann::json summary(const QString& run) {
  std::ifstream in((run + "/summary.json").toStdString());
  return nlohmann::json::parse(in, nullptr, false);
}

void compareLosses(const Losses& got, const Losses& want) {
  QCOMPARE(got.size(), want.size());
  for (const auto& [key, loss] : want) {
    QVERIFY2(got.count(key), qPrintable(QString("no loss for %1 step %2").arg(key.first.c_str()).arg(key.second)));
    QVERIFY2(qAbs(got.at(key) - loss) <= 1e-5 * qAbs(loss),
             qPrintable(QString("%1 step %2: %3 with 2 processes, %4 with 1")
                            .arg(key.first.c_str()).arg(key.second).arg(got.at(key)).arg(loss)));
  }
}

// Every tensor of two adapter files equal within `tolerance` relative to its largest value.
void compareAdapters(const QString& a, const QString& b, double tolerance = 1e-5) {
  auto x = fw::io::SafetensorsFile::open(a.toStdString());
  auto y = fw::io::SafetensorsFile::open(b.toStdString());
  QCOMPARE(x.names(), y.names());
  for (const auto& name : x.names()) {
    auto tx = x.tensor(name).to(at::kDouble), ty = y.tensor(name).to(at::kDouble);
    const double scale = std::max(1e-12, tx.abs().max().item<double>());
    QVERIFY2((tx - ty).abs().max().item<double>() <= tolerance * scale, name.c_str());
  }
}

}  // namespace

class TestDistributed : public QObject {
  Q_OBJECT
private slots:
  void initTestCase();
  void twoProcessesEqualOne();
  void causalLmLossIsTheMeanOverAllRanksTokens();
  void killedWorkerStopsTheRunWhichResumes();
  void ctrlZPausesTheWorkersAndContinues();
  void refusals();
  void joinsTorchrunsAgentStore();

private:
  fw::test::TempDir tmp_;
  QString dir_;
  QString one_;  // the one-process reference run (3 epochs)
};

void TestDistributed::initTestCase() {
#ifdef FW_NO_GLOO
  QSKIP("built without Gloo's headers (libgloo-dev): no data-parallel training to test");
#endif
  if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  dir_ = QString::fromStdString(tmp_.path());
  fw::test::writeBytes(tmp_.file("e.json"), experiment(3, 5).dump());
  auto r = fourierft({"train", dir_ + "/e.json", "--out", dir_ + "/one", "--no-index", "--threads", "1"});
  QVERIFY2(r.code == 0, qPrintable(r.err));
  one_ = fw::test::onlyRunFolder(dir_ + "/one");
  QCOMPARE(losses(one_).size(), size_t(2 * 60));
}

void TestDistributed::twoProcessesEqualOne() {
  auto r = fourierft({"train", dir_ + "/e.json", "--out", dir_ + "/two", "--no-index", "--nproc", "2"});
  QVERIFY2(r.code == 0, qPrintable(r.err));
  QVERIFY2(r.err.contains("2 workers, 1 threads each"), qPrintable(r.err));
  const QString two = fw::test::onlyRunFolder(dir_ + "/two");
  compareLosses(losses(two), losses(one_));
  // Evaluation is sharded over the ranks and gathered: the metrics of one process.
  const auto evalsTwo = evals(two), evalsOne = evals(one_);
  QCOMPARE(evalsTwo.size(), size_t(2 * 3));
  QCOMPARE(evalsTwo.size(), evalsOne.size());
  for (size_t i = 0; i < evalsOne.size(); ++i) {
    QCOMPARE(evalsTwo[i]["examples"].get<int64_t>(), int64_t(101));
    QCOMPARE(evalsTwo[i]["metrics"]["accuracy"].get<double>(), evalsOne[i]["metrics"]["accuracy"].get<double>());
    const double a = evalsTwo[i]["loss"].get<double>(), b = evalsOne[i]["loss"].get<double>();
    QVERIFY2(qAbs(a - b) <= 1e-5 * qAbs(b), qPrintable(QString("eval loss %1 against %2").arg(a).arg(b)));
  }
  for (const char* m : {"fourierft", "lora"})
    compareAdapters(two + "/adapters/" + m + "/peft/adapter_model.safetensors",
                    one_ + "/adapters/" + m + "/peft/adapter_model.safetensors");
  auto s = summary(two);
  QCOMPARE(s["world_size"].get<int>(), 2);
  QCOMPARE(s["status"].get<std::string>(), std::string("finished"));
  // Per step: the trainable parameters' gradients as float32, and six doubles (the loss, the
  // stop and pause flags, the examples, tokens and labelled entries).
  for (const char* m : {"fourierft", "lora"}) {
    const auto& ms = s["methods"][m];
    QCOMPARE(ms["bytes_all_reduced"].get<int64_t>(), 60 * (4 * ms["trainable_parameters"].get<int64_t>() + 48));
  }
  // Throughput counts the run's examples, not rank 0's share (it showed half the rate).
  for (const QString& run : {two, one_})
    for (const auto& j : fw::test::metricEvents(run.toStdString(), "step"))
      QCOMPARE(j["samples"].get<double>(), 16.0);
  QVERIFY(QFile::exists(two + "/rank-1.log"));
  QVERIFY(!QFile::exists(two + "/rank-0.log"));
}

void TestDistributed::causalLmLossIsTheMeanOverAllRanksTokens() {
  const auto model = fw::test::sharedPath("data/models/tiny-gpt2-random");
  const auto alpaca = fw::test::sharedPath("data/instructions/alpaca_data_1k.json");
  if (model.empty() || alpaca.empty()) QSKIP("../shared/data (tiny GPT-2, Alpaca) not found");
  // Instructions of different lengths: in each step the two ranks' halves hold different numbers
  // of target tokens (the prompt is masked), so the mean of the ranks' means is not one process's.
  const nlohmann::json e = {
      {"schema_version", 1}, {"name", "dp-lm"},
      {"model", {{"checkpoint", model}, {"config", {{"attn_pdrop", 0.0}, {"embd_pdrop", 0.0}, {"resid_pdrop", 0.0}}}}},
      {"dataset", {{"kind", "instructions"}, {"train", alpaca}, {"eval", alpaca}, {"train_limit", 48},
                   {"eval_limit", 12}, {"max_length", 64}, {"bad_rows", "skip"}}},
      {"methods", {{{"type", "lora"}, {"r", 2}, {"alpha", 4.0}, {"lr", 0.05}, {"target_modules", {"c_attn"}}}}},
      {"batch_size", 8}, {"max_steps", 6}, {"epochs", 1}, {"device", "cpu"}, {"seed", 5}};
  fw::test::writeBytes(tmp_.file("lm.json"), e.dump());
  auto one = fourierft({"train", dir_ + "/lm.json", "--out", dir_ + "/lm-one", "--no-index", "--threads", "1"});
  QVERIFY2(one.code == 0, qPrintable(one.err));
  auto two = fourierft({"train", dir_ + "/lm.json", "--out", dir_ + "/lm-two", "--no-index", "--nproc", "2"});
  QVERIFY2(two.code == 0, qPrintable(two.err));
  const QString a = fw::test::onlyRunFolder(dir_ + "/lm-one"), b = fw::test::onlyRunFolder(dir_ + "/lm-two");
  QCOMPARE(losses(a).size(), size_t(6));
  compareLosses(losses(b), losses(a));
  const auto evalsOne = evals(a), evalsTwo = evals(b);
  QCOMPARE(evalsTwo.size(), size_t(1));
  QCOMPARE(evalsOne.size(), size_t(1));
  const double p1 = evalsOne[0]["metrics"]["perplexity"].get<double>(), p2 = evalsTwo[0]["metrics"]["perplexity"].get<double>();
  QVERIFY2(qAbs(p1 - p2) <= 1e-5 * p1, qPrintable(QString("perplexity %1 with 2 processes, %2 with 1").arg(p2).arg(p1)));
  // float32 rounding of the all-reduced gradients leaves about 1e-5 after six Adam steps (lora_B
  // starts at zero, so its small entries move by lr whatever the gradient's size); the mean of
  // the ranks' means instead of the token mean left 4e-2 (measured 2026-11-27).
  compareAdapters(b + "/adapters/lora/peft/adapter_model.safetensors", a + "/adapters/lora/peft/adapter_model.safetensors",
                  1e-4);
}

void TestDistributed::killedWorkerStopsTheRunWhichResumes() {
  QProcess p;
  p.start(FW_CLI_PATH, {"train", dir_ + "/e.json", "--out", dir_ + "/killed", "--no-index", "--nproc", "2",
                        "--timeout", "20"});
  QVERIFY(p.waitForStarted());
  // The launcher names its workers' pids first.
  qint64 pid1 = 0;
  QString err;
  for (int i = 0; i < 200 && pid1 == 0; ++i) {
    p.waitForReadyRead(100);
    err += QString::fromUtf8(p.readAllStandardError());
    for (const auto& line : err.split('\n'))
      if (line.startsWith("rank 1: pid ")) pid1 = line.mid(12).toLongLong();
  }
  QVERIFY2(pid1 > 0, qPrintable(err));
  // Kill rank 1 once FourierFT has made a few steps (past its first checkpoint at step 5).
  QString run;
  for (int i = 0; i < 600; ++i) {
    run = fw::test::onlyRunFolder(dir_ + "/killed");
    // The folder exists a moment before its experiment.json does.
    if (!run.isEmpty() && QFile::exists(run + "/experiment.json") && losses(run).size() >= 8) break;
    QThread::msleep(20);
  }
  QVERIFY(!run.isEmpty());
  QCOMPARE(::kill(pid_t(pid1), SIGKILL), 0);
  QVERIFY(p.waitForFinished(60000));
  err += QString::fromUtf8(p.readAllStandardError());
  QVERIFY2(p.exitCode() != 0, qPrintable(err));
  QVERIFY2(err.contains("rank 1 was killed by signal 9"), qPrintable(err));
  const auto s = summary(run);
  QVERIFY2(s.value("status", "") == "failed" && s.value("error", "").find("rank 0 of 2") != std::string::npos,
           s.dump().c_str());

  // Rank 0 wrote rank 1's random state too: each rank resumes with its own dropout draws.
  int checkpoints = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator((run + "/checkpoints").toStdString()))
    if (f.path().filename() == "optimizer.safetensors") {
      ++checkpoints;
      const auto st = fw::io::SafetensorsFile::open(f.path().string());
      QVERIFY2(st.contains("rng.cpu") && st.contains("rng.cpu.rank1") && !st.contains("rng.cpu.rank2"), f.path().c_str());
    }
  QVERIFY(checkpoints > 0);

  // Resuming with another world size is refused; with the same one it ends as if never killed.
  auto wrong = fourierft({"train", "--resume", run, "--no-index"});
  QCOMPARE(wrong.code, 1);
  QVERIFY2(wrong.err.contains("trained with 2 processes") && wrong.err.contains("--nproc 2"), qPrintable(wrong.err));
  auto resumed = fourierft({"train", "--resume", run, "--no-index", "--nproc", "2"});
  QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
  QCOMPARE(summary(run)["status"].get<std::string>(), std::string("finished"));
  compareLosses(losses(run), losses(one_));
}

// The state letter of /proc/PID/stat: R running, S sleeping, T stopped.
char processState(qint64 pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

void TestDistributed::ctrlZPausesTheWorkersAndContinues() {
  // Ctrl-Z (SIGTSTP) reaches the launcher alone: it used to stop itself while its workers trained
  // on. Now the workers pause together and the launcher stops; SIGCONT (fg) continues them all
  // and the run ends with the losses of one process.
  QProcess p;
  p.start(FW_CLI_PATH, {"train", dir_ + "/e.json", "--out", dir_ + "/suspended", "--no-index", "--nproc", "2"});
  QVERIFY(p.waitForStarted());
  QString run;
  for (int i = 0; i < 1500; ++i) {
    run = fw::test::onlyRunFolder(dir_ + "/suspended");
    if (!run.isEmpty() && losses(run).size() >= 4) break;
    QThread::msleep(20);
  }
  QVERIFY(!run.isEmpty() && losses(run).size() >= 4);
  QCOMPARE(::kill(pid_t(p.processId()), SIGTSTP), 0);
  QElapsedTimer clock;
  clock.start();
  while (processState(p.processId()) != 'T' && clock.elapsed() < 10000) QThread::msleep(20);
  QCOMPARE(processState(p.processId()), 'T');
  // The step in flight ends, then nothing more is trained while the launcher is stopped.
  QThread::msleep(1500);
  const size_t paused = losses(run).size();
  QThread::msleep(1500);
  QCOMPARE(losses(run).size(), paused);
  QVERIFY2(paused < size_t(2 * 60), "the run ended before it could be suspended");
  QCOMPARE(::kill(pid_t(p.processId()), SIGCONT), 0);
  QVERIFY(p.waitForFinished(240000));
  const QString err = QString::fromUtf8(p.readAllStandardError());
  QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, qPrintable(err));
  QVERIFY2(err.contains("suspended: the workers pause after the step in flight"), qPrintable(err));
  QCOMPARE(summary(run)["status"].get<std::string>(), std::string("finished"));
  compareLosses(losses(run), losses(one_));
}

void TestDistributed::refusals() {
  // A port another program holds: rank 0 cannot open the rendezvous and says so.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  QVERIFY(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 4) == 0);
  QVERIFY(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const QString master = "127.0.0.1:" + QString::number(ntohs(a.sin_port));
  auto busy = fourierft({"train", dir_ + "/e.json", "--out", dir_ + "/busy", "--no-index", "--nproc", "2", "--master",
                         master, "--timeout", "5"});
  ::close(fd);
  QVERIFY(busy.code != 0);
  QVERIFY2(busy.err.contains("rank 0 could not join the group at " + master) && busy.err.contains("in use"),
           qPrintable(busy.err));

  // A master nobody listens on (the second machine of two, started alone): rank 1 gives up after
  // --timeout and says where it looked.
  const int closed = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in c{};
  c.sin_family = AF_INET;
  c.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t clen = sizeof c;
  QVERIFY(::bind(closed, reinterpret_cast<sockaddr*>(&c), sizeof c) == 0);
  QVERIFY(::getsockname(closed, reinterpret_cast<sockaddr*>(&c), &clen) == 0);
  ::close(closed);  // a port that was free a moment ago and has no listener now
  const QString nobody = "127.0.0.1:" + QString::number(ntohs(c.sin_port));
  QElapsedTimer waited;
  waited.start();
  auto alone = fourierft({"train", dir_ + "/e.json", "--out", dir_ + "/alone", "--no-index", "--nproc", "1",
                          "--nnodes", "2", "--node-rank", "1", "--master", nobody, "--timeout", "3"});
  QVERIFY(alone.code != 0);
  QVERIFY2(alone.err.contains("rank 1 could not join the group at " + nobody) &&
               alone.err.contains("is rank 0 running, and is " + nobody + " reachable from here?"),
           qPrintable(alone.err));
  QVERIFY2(waited.elapsed() < 60000, "an unreachable master must end with an error after --timeout, not hang");

  // A global batch that does not split over the processes.
  auto odd = fourierft({"train", dir_ + "/e.json", "--out", dir_ + "/odd", "--no-index", "--nproc", "3", "--set",
                        "epochs=1"});
  QVERIFY(odd.code != 0);
  QVERIFY2(odd.err.contains("batch size 16 does not split evenly over 3 processes"), qPrintable(odd.err));

  auto bad = fourierft({"train", dir_ + "/e.json", "--nproc", "2", "--master", "nohost"});
  QCOMPARE(bad.code, 1);
  QVERIFY2(bad.err.contains("--master 'nohost' is not ADDR:PORT"), qPrintable(bad.err));

  // A worker environment without RANK: every process took rank 0 (each tried to host the store).
  auto noRank = fw::test::runCli({"train", dir_ + "/e.json", "--out", dir_ + "/norank", "--no-index"}, 60000,
                                 "export WORLD_SIZE=2 MASTER_PORT=1; unset RANK;");
  QCOMPARE(noRank.code, 1);
  QVERIFY2(noRank.err.contains("WORLD_SIZE is 2 but RANK is not set"), qPrintable(noRank.err));
  // LOCAL_RANK past the workers on this machine.
  auto local = fw::test::runCli({"train", dir_ + "/e.json", "--out", dir_ + "/local", "--no-index"}, 60000,
                                "export WORLD_SIZE=2 RANK=1 LOCAL_RANK=2 LOCAL_WORLD_SIZE=2 MASTER_PORT=1;");
  QCOMPARE(local.code, 1);
  QVERIFY2(local.err.contains("LOCAL_RANK is '2'") && local.err.contains("0 to 1"), qPrintable(local.err));
  // An interface this machine does not have, named by GLOO_SOCKET_IFNAME.
  auto iface = fw::test::runCli({"train", dir_ + "/e.json", "--out", dir_ + "/iface", "--no-index", "--nproc", "2",
                                 "--timeout", "5", "--set", "epochs=1"},
                                120000, "export GLOO_SOCKET_IFNAME=nosuch0;");
  QVERIFY(iface.code != 0);
  QVERIFY2(iface.err.contains("the network interface 'nosuch0' named by the environment variable GLOO_SOCKET_IFNAME"),
           qPrintable(iface.err));
}

// torchrun (static rendezvous) hosts the store itself on MASTER_PORT and tells its workers with
// TORCHELASTIC_USE_AGENT_STORE=True: every rank joins it as a client (rank 0 tried to bind the
// port and failed, "Address already in use", so torchrun could not start a run). The agent's
// part is played here: the store, then two workers with torchrun's environment, GLOO_SOCKET_IFNAME
// as multi-machine users set it, and --threads 0 passed to each (torchrun passes arguments as they
// are): each worker takes its share of the cores, not all of them.
void TestDistributed::joinsTorchrunsAgentStore() {
  int port = 0;
  {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    QVERIFY(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    ::close(s);
  }
  c10d::TCPStoreOptions so;
  so.port = uint16_t(port);
  so.isServer = true;
  so.waitWorkers = false;
  auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
  fw::test::writeBytes(tmp_.file("e1.json"), experiment(1, 5).dump());
  std::vector<std::unique_ptr<QProcess>> workers;
  for (int rank = 0; rank < 2; ++rank) {
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("RANK", QString::number(rank));
    env.insert("LOCAL_RANK", QString::number(rank));
    env.insert("WORLD_SIZE", "2");
    env.insert("LOCAL_WORLD_SIZE", "2");
    env.insert("MASTER_ADDR", "127.0.0.1");
    env.insert("MASTER_PORT", QString::number(port));
    env.insert("TORCHELASTIC_USE_AGENT_STORE", "True");
    env.insert("TORCHELASTIC_RESTART_COUNT", "0");
    env.insert("GLOO_SOCKET_IFNAME", "lo");
    workers.push_back(std::make_unique<QProcess>());
    workers.back()->setProcessEnvironment(env);
    workers.back()->start(FW_CLI_PATH, {"train", dir_ + "/e1.json", "--out", dir_ + "/agent", "--no-index", "--threads", "0"});
  }
  for (auto& w : workers) {
    QVERIFY(w->waitForFinished(120000));
    const QString err = QString::fromUtf8(w->readAllStandardError());
    QVERIFY2(w->exitStatus() == QProcess::NormalExit && w->exitCode() == 0, qPrintable(err));
  }
  const auto run = fw::test::onlyRunFolder(dir_ + "/agent");
  QCOMPARE(summary(run)["status"].get<std::string>(), std::string("finished"));
  QCOMPARE(summary(run)["world_size"].get<int>(), 2);
  QCOMPARE(summary(run)["threads"].get<int>(), std::max(1, QThread::idealThreadCount() / 2));
}

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
