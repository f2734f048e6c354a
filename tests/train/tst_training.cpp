// Training end to end on real data: FourierFT lowers the loss on RTE and SST-2, Alpaca runs
// on the tiny GPT-2 with the real tokenizer, a stopped run resumed gives the same losses as an
// uninterrupted one, a diverging run stops with a clear error and keeps its checkpoint, and a
// finished run can be evaluated and exported (merged logits equal adapter logits).
#include <ATen/Parallel.h>

#include "adapters/adapted_linear.h"
#include "adapters/adapter_folder.h"
#include "adapters/inject.h"
#include "models/checkpoint.h"
#include "runs/run_folder.h"
#include "runs/run_index.h"
#include "support/test_support.h"
#include "train/batch_prefetch.h"
#include "train/data_setup.h"
#include "train/evaluate.h"
#include "train/losses.h"
#include "train/method_setup.h"
#include "models/presets.h"
#include "train/run_models.h"
#include "train/train_state.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/files.h"

#include <torch/optim/adamw.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

using namespace fw;
using nlohmann::json;

namespace {

const char* kFmnist = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// Records losses and can ask the trainer to stop after a given step.
struct Recorder : train::TrainObserver {
  std::atomic<bool> stop{false};
  int64_t stopAfter = -1;
  std::vector<double> losses;
  void onStep(const train::StepEvent& e) override {
    losses.push_back(e.loss);
    if (e.step == stopAfter) stop = true;
  }
};

double meanLoss(const std::vector<json>& steps, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += steps[i]["loss"].get<double>();
  return s / double(to - from);
}

train::Experiment experiment(const json& j) { return train::Experiment::fromJson(j, "test experiment"); }

// A small BERT (random weights, the real bert-base-uncased vocabulary) for text tasks.
json smallBert(const std::string& tokenizer) {
  return {{"preset", "bert-base"}, {"tokenizer", tokenizer},
          {"config", {{"hidden_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 2},
                      {"intermediate_size", 128}, {"max_position_embeddings", 128}}}};
}

std::string runExperiment(const train::Experiment& e, const std::string& runsDir, train::TrainObserver* obs = nullptr,
                          const std::atomic<bool>* stop = nullptr, const std::string& resume = "",
                          const std::string& index = "") {
  train::TrainerOptions o;
  o.runsDir = runsDir;
  o.resumeDir = resume;
  o.indexPath = index;
  train::Trainer t(e, o, obs, stop);
  return t.run();
}

}  // namespace

class TestTraining : public QObject {
  Q_OBJECT
private slots:
  void fourierftLowersLossOnGlue_data();
  void fourierftLowersLossOnGlue();
  void alpacaOnTinyGpt2();
  void resumeEqualsUninterrupted();
  void divergingRunStopsAndKeepsCheckpoint();
  void pretrainCacheEvalAndMergedExport();
  void prefetcherFollowsTheBatcher();
  void lossesIgnoreUnlabelledRows();
  void checkpointKeepsOnlyFiniteBestMetrics();
  void resumeAtTheLastStepEvaluatesAndKeepsCheckpoint();
  void stopDuringPretrainEndsStopped();
  void emptyEvaluationSetIsAnError();
  void failingSnapshotKeepsTheRun();
  void weightDecaySparesBiasesAndLayerNorms();
  void maxStepsOverridesEpochs();
  void eachRankResumesItsOwnRandomState();
  void bf16RunEvaluatesUnderAutocast();
  void checkpointsLabelOrderIsKept();
  void freshHeadRefusedForACausalLm();
};

void TestTraining::fourierftLowersLossOnGlue_data() {
  QTest::addColumn<QString>("task");
  QTest::newRow("RTE") << "RTE";
  QTest::newRow("SST-2") << "SST-2";
}

void TestTraining::fourierftLowersLossOnGlue() {
  QFETCH(QString, task);
  const auto tsv = test::sharedPath("data/glue/" + task.toStdString() + "/train.tsv");
  const auto tok = test::sharedPath("data/tokenizers/bert-base-uncased");
  if (tsv.empty() || tok.empty()) QSKIP("../shared/data/glue or the BERT tokenizer not found (set FW_SHARED_DIR)");
  test::TempDir tmp;
  // The same 256 training examples are the evaluation set: its loss must fall.
  auto e = experiment({{"schema_version", 1}, {"name", "glue-" + task.toStdString()}, {"model", smallBert(tok)},
                       {"dataset", {{"kind", "glue"}, {"task", task.toStdString()}, {"train", tsv}, {"eval", tsv},
                                    {"train_limit", 256}, {"eval_limit", 256}, {"max_length", 64}}},
                       {"methods", {{{"type", "fourierft"}, {"n_frequency", 500}, {"scaling", 300.0}, {"lr", 0.05},
                                     {"target_modules", {"query", "value"}}}}},
                       {"trainable_modules", {"classifier"}}, {"head_lr", 0.01}, {"batch_size", 16},
                       {"epochs", 13}, {"max_steps", 200}, {"eval_every", 100}, {"seed", 1}, {"device", "cpu"}});
  const auto run = runExperiment(e, tmp.path());
  auto steps = test::metricEvents(run, "step"), evals = test::metricEvents(run, "eval");
  QCOMPARE(steps.size(), size_t(200));
  QCOMPARE(evals.size(), size_t(2));
  const double before = meanLoss(steps, 0, 20), after = meanLoss(steps, 180, 200);
  const double evalFirst = evals[0]["loss"].get<double>(), evalLast = evals[1]["loss"].get<double>();
  qInfo("%s: train loss %.4f -> %.4f, eval loss %.4f -> %.4f", qPrintable(task), before, after, evalFirst, evalLast);
  QVERIFY2(after < before - 0.02, "the training loss did not fall");
  QVERIFY2(evalLast < evalFirst, "the loss on the training examples did not fall");
  auto summary = runs::RunFolder::open(run).readSummary().value();
  QCOMPARE(summary["status"].get<std::string>(), std::string("finished"));
  QCOMPARE(summary["methods"]["fourierft"]["trainable_parameters"].get<int64_t>(), int64_t(4 * 500 + 64 * 2 + 2));
  QVERIFY(summary["methods"]["fourierft"]["final_metrics"].contains("accuracy"));
  // The best evaluation by accuracy (the first of equals), with its loss.
  const auto& best = summary["methods"]["fourierft"]["best_metrics"];
  const size_t b = evals[1]["metrics"]["accuracy"].get<double>() > evals[0]["metrics"]["accuracy"].get<double>() ? 1 : 0;
  QCOMPARE(best["accuracy"].get<double>(), evals[b]["metrics"]["accuracy"].get<double>());
  QCOMPARE(best["loss"].get<double>(), evals[b]["loss"].get<double>());
  // The run records its threads and where the loop's time went.
  QCOMPARE(summary["threads"].get<int>(), at::get_num_threads());
  const auto& time = summary["methods"]["fourierft"]["time"];
  const double total = summary["methods"]["fourierft"]["seconds"].get<double>();
  const double parts = time["steps_s"].get<double>() + time["data_wait_s"].get<double>() + time["eval_s"].get<double>() +
                       time["checkpoint_s"].get<double>() + time["snapshot_s"].get<double>();
  qInfo("%s: %.2f s, steps %.2f s (share %.3f), waiting for data %.4f s, eval %.2f s", qPrintable(task), total,
        time["steps_s"].get<double>(), time["step_share"].get<double>(), time["data_wait_s"].get<double>(),
        time["eval_s"].get<double>());
  QVERIFY(time["steps_s"].get<double>() > 0 && time["eval_s"].get<double>() > 0);
  QVERIFY2(parts <= total * 1.001 + 0.01, "the time parts add up to more than the loop's wall time");
  QCOMPARE(time["step_share"].get<double>(), time["steps_s"].get<double>() / total);
}

void TestTraining::prefetcherFollowsTheBatcher() {
  data::Dataset d;
  d.name = "counting";
  d.kind = data::TaskKind::Classification;
  d.numLabels = 3;
  for (int64_t i = 0; i < 50; ++i) {
    data::Example x;
    x.ids.assign(size_t(1 + i % 7), i);
    x.label = i % 3;
    d.examples.push_back(x);
  }
  data::Batcher batcher(d, 4, /*shuffle=*/true, 7, /*padId=*/0);
  // Starting mid-epoch (a resumed run) and crossing into the next epochs.
  const int64_t first = 5, end = 5 + 3 * batcher.batchesPerEpoch();
  train::BatchPrefetcher prefetch(batcher, d.kind, c10::Device(c10::kCPU), first, end, 2);
  for (int64_t s = first; s < end; ++s) {
    auto item = prefetch.next();
    auto want = batcher.batch(s / batcher.batchesPerEpoch(), s % batcher.batchesPerEpoch());
    QCOMPARE(item.batch.indices, want.indices);
    QCOMPARE(item.batch.inputIds, want.inputIds);
    auto ids = item.tensors.inputs.input_ids;
    QCOMPARE(ids.sizes().vec(), (std::vector<int64_t>{want.size, want.seqLen}));
    QCOMPARE(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()), want.inputIds);
    QCOMPARE(item.tensors.labels[0].item<int64_t>(), want.labels[0]);
  }
  // Dropped while the thread is ahead: the destructor returns (a stopped run).
  { train::BatchPrefetcher early(batcher, d.kind, c10::Device(c10::kCPU), 0, 1000, 2); (void)early.next(); }
}

void TestTraining::alpacaOnTinyGpt2() {
  const auto model = test::sharedPath("data/models/tiny-gpt2-random");
  const auto alpaca = test::sharedPath("data/instructions/alpaca_data_1k.json");
  if (model.empty() || alpaca.empty()) QSKIP("../shared/data (tiny GPT-2, Alpaca) not found");
  test::TempDir tmp;
  auto e = experiment({{"schema_version", 1}, {"name", "alpaca"}, {"model", {{"checkpoint", model}}},
                       {"dataset", {{"kind", "instructions"}, {"train", alpaca}, {"eval", alpaca}, {"train_limit", 64},
                                    {"eval_limit", 16}, {"max_length", 128}, {"bad_rows", "skip"}}},
                       {"methods", {{{"type", "fourierft"}, {"n_frequency", 8}, {"scaling", 20.0}, {"lr", 0.1},
                                     {"target_modules", {"c_attn"}}},
                                    {{"type", "lora"}, {"r", 1}, {"alpha", 2.0}, {"lr", 0.01}, {"target_modules", {"c_attn"}}}}},
                       {"batch_size", 4}, {"max_steps", 12}, {"epochs", 1}, {"device", "cpu"}});
  const auto run = runExperiment(e, tmp.path());
  for (const char* m : {"fourierft", "lora"}) {
    auto evals = test::metricEvents(run, "eval", m);
    QCOMPARE(evals.size(), size_t(1));
    const double ppl = evals[0]["metrics"]["perplexity"].get<double>();
    // A random 2-dimensional GPT-2 guesses among 50,257 tokens: perplexity near the vocabulary size.
    QVERIFY2(std::isfinite(ppl) && ppl > 1000 && ppl < 200000, qPrintable(QString::number(ppl)));
  }
  // The prompt is masked: fewer target tokens than tokens.
  auto data = train::loadTrainData(e.dataset, model);
  int64_t targets = 0, tokens = 0;
  for (const auto& ex : data.train.examples) {
    tokens += int64_t(ex.ids.size());
    for (auto l : ex.lmLabels) targets += l != -100;
  }
  QVERIFY(targets > 0 && targets < tokens);
  // The adapter was saved in both formats, PEFT's with fan_in_fan_out for GPT-2's Conv1D.
  auto peft = adapters::readAdapterFolder(runs::RunFolder::open(run).adapterDir("fourierft", runs::AdapterFormat::Peft));
  QCOMPARE(peft.layers.size(), size_t(2));
  QVERIFY(peft.layers[0].spectrum.abs().sum().item<float>() > 0);
}

void TestTraining::resumeEqualsUninterrupted() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  auto e = experiment({{"schema_version", 1}, {"name", "resume"}, {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 2}}}}},
                       {"dataset", {{"kind", "idx_images"}, {"train", kFmnist}, {"classes", {5, 6, 7, 8, 9}}, {"train_limit", 320},
                                    {"mean", 0.286}, {"std", 0.353}}},
                       {"methods", {{{"type", "fourierft"}, {"n_frequency", 100}, {"scaling", 16.0}, {"lr", 0.1},
                                     {"target_modules", {"query", "value"}}},
                                    {{"type", "lora"}, {"r", 2}, {"alpha", 4.0}, {"lr", 0.01}, {"target_modules", {"query", "value"}}}}},
                       {"trainable_modules", {"classifier"}}, {"batch_size", 32}, {"epochs", 3}, {"checkpoint_every", 4},
                       {"seed", 3}, {"device", "cpu"}});
  const auto whole = runExperiment(e, tmp.file("whole"));
  Recorder rec;
  rec.stopAfter = 13;  // inside the first method, between two checkpoints
  const auto index = tmp.file("runs.sqlite");
  const auto parted = runExperiment(e, tmp.file("parted"), &rec, &rec.stop, "", index);
  QCOMPARE(runs::RunFolder::open(parted).readSummary().value()["status"].get<std::string>(), std::string("stopped"));
  QCOMPARE(runs::RunFolder::open(parted).latestCheckpoint("fourierft")->step, int64_t(13));  // written on stop
  QCOMPARE(runs::RunIndex::open(index).byFolder(parted)->status, runs::RunStatus::Stopped);
  runExperiment(e, "", nullptr, nullptr, parted, index);
  QCOMPARE(runs::RunIndex::open(index).byFolder(parted)->status, runs::RunStatus::Finished);
  for (const char* m : {"fourierft", "lora"}) {
    auto a = test::metricEvents(whole, "step", m), b = test::metricEvents(parted, "step", m);
    QCOMPARE(a.size(), size_t(30));
    QCOMPARE(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      QCOMPARE(b[i]["step"].get<int64_t>(), a[i]["step"].get<int64_t>());
      QCOMPARE(b[i]["loss"].get<double>(), a[i]["loss"].get<double>());  // bit for bit
    }
  }
}

void TestTraining::divergingRunStopsAndKeepsCheckpoint() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  auto e = experiment({{"schema_version", 1}, {"name", "nan"}, {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
                       {"dataset", {{"kind", "idx_images"}, {"train", kFmnist}, {"classes", {0, 1}}, {"train_limit", 256}}},
                       {"methods", {{{"type", "full"}, {"lr", 1e30}}}}, {"batch_size", 16}, {"epochs", 2},
                       {"checkpoint_every", 1}, {"grad_clip", 0.0}, {"warmup_ratio", 0.0}, {"device", "cpu"}});
  std::string message;
  try {
    runExperiment(e, tmp.path());
  } catch (const Error& err) {
    message = err.what();
  }
  QVERIFY2(message.find("training loss is") != std::string::npos && message.find("start a new run with a lower learning rate") != std::string::npos,
           message.c_str());
  std::string runDir;
  for (const auto& d : std::filesystem::directory_iterator(tmp.path())) runDir = d.path().string();
  auto run = runs::RunFolder::open(runDir);
  QCOMPARE(run.readSummary().value()["status"].get<std::string>(), std::string("failed"));
  QVERIFY(run.latestCheckpoint("full").has_value());  // the last good step is kept
}

void TestTraining::pretrainCacheEvalAndMergedExport() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  const json images = {{"kind", "idx_images"}, {"train", kFmnist}, {"eval", kFmnist}, {"classes", {0, 1, 2}},
                       {"train_limit", 192}, {"eval_limit", 64}, {"mean", 0.286}, {"std", 0.353}};
  json adapt = images;
  adapt["classes"] = {7, 8, 9};
  auto e = experiment({{"schema_version", 1}, {"name", "cached"},
                       {"model", {{"preset", "vit-fmnist"}, {"fresh_head", true}, {"config", {{"num_hidden_layers", 1}}},
                                  {"pretrain", {{"dataset", images}, {"epochs", 1}, {"batch_size", 32}, {"cache", tmp.file("base")}}}}},
                       {"dataset", adapt},
                       {"methods", {{{"type", "fourierft"}, {"n_frequency", 64}, {"scaling", 16.0}, {"lr", 0.1},
                                     {"target_modules", {"query", "value"}}},
                                    {{"type", "head-only"}}}},
                       {"trainable_modules", {"classifier"}}, {"batch_size", 32}, {"epochs", 1}, {"device", "cpu"}});
  const auto run = runExperiment(e, tmp.file("runs"));
  QVERIFY(std::filesystem::exists(tmp.file("base/model.safetensors")));  // the base is cached
  auto folder = runs::RunFolder::open(run);
  auto exp = train::Experiment::fromJson(folder.readExperiment());
  auto trained = train::loadTrainedModel(folder, exp, "fourierft", at::kCPU);
  auto data = train::loadTrainData(exp.dataset, "");
  auto r = train::evaluate(*trained.model, data.eval, 64, 0, at::kCPU);
  // The same accuracy the trainer recorded at its last evaluation.
  auto last = test::metricEvents(run, "eval", "fourierft").back();
  QCOMPARE(r.metrics["accuracy"], last["metrics"]["accuracy"].get<double>());
  // Merged into a checkpoint, the model computes what the adapter computes.
  at::NoGradGuard g;
  models::ModelInputs in;
  in.pixel_values = at::randn({4, 1, 28, 28});
  auto withAdapter = trained.model->forward(in);
  adapters::mergeAdapters(*trained.model);
  models::saveCheckpointFolder(*trained.model, tmp.file("merged"));
  auto merged = models::loadPretrained(tmp.file("merged"));
  QVERIFY(test::maxAbsDiff(merged.model->forward(in), withAdapter) < 1e-5);
  // It names the classes it was trained on, as run_glue.py's checkpoints do.
  QCOMPARE(merged.model->config()["id2label"], json({{"0", "Sneaker"}, {"1", "Bag"}, {"2", "Ankle boot"}}));
  QCOMPARE(merged.model->config()["label2id"], json({{"Sneaker", 0}, {"Bag", 1}, {"Ankle boot", 2}}));
  // A second run finds the base in its cache and does not train it again.
  Recorder rec;
  runExperiment(e, tmp.file("runs"), &rec);
  QCOMPARE(rec.losses.size(), size_t(2 * 6));  // only the two methods' steps
  // A run with another seed trains the shared cache again: the first run's adapter no longer
  // fits the cached weights, and rebuilding it says so instead of evaluating the wrong model.
  auto other = e;
  other.seed = e.seed + 1;
  runExperiment(other, tmp.file("runs"));
  try {
    train::loadTrainedModel(folder, exp, "fourierft", at::kCPU);
    QFAIL("a run whose cached base was trained again was rebuilt");
  } catch (const Error& err) {
    QVERIFY2(std::string(err.what()).find("cached base model was trained again since this run") != std::string::npos, err.what());
    QVERIFY2(std::string(err.what()).find(tmp.file("base")) != std::string::npos, err.what());
  }
}

// Unlabelled rows (-100, or a NaN regression target) are left out of the mean; a batch with no
// labelled row gives a zero loss with zero gradients, not NaN (torch's mean divides by zero).
void TestTraining::lossesIgnoreUnlabelledRows() {
  // Classification: rows 0 and 2 count.
  auto logits = at::tensor({2.0f, 0.0f, 1.0f, 3.0f, -1.0f, 0.5f}).view({3, 2}).requires_grad_();
  auto loss = train::classificationLoss(logits, at::tensor({1, -100, 0}, at::kLong));
  const double ce0 = std::log(std::exp(2.0) + std::exp(0.0)) - 0.0, ce2 = std::log(std::exp(-1.0) + std::exp(0.5)) + 1.0;
  QVERIFY(std::abs(loss.item<double>() - (ce0 + ce2) / 2) < 1e-6);
  auto none = train::classificationLoss(logits, at::tensor({-100, -100, -100}, at::kLong));
  QCOMPARE(none.item<double>(), 0.0);
  none.backward();
  QCOMPARE(logits.grad().abs().sum().item<double>(), 0.0);
  // Regression: ((1 - 2)^2 + (4 - 1)^2) / 2 over the two labelled rows, gradients 2 (p - y) / 2.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto predicted = at::tensor({1.0f, 2.0f, 4.0f}).view({3, 1}).requires_grad_();
  auto mse = train::regressionLoss(predicted, at::tensor({2.0f, nan, 1.0f}));
  QCOMPARE(mse.item<double>(), 5.0);
  mse.backward();
  auto g = predicted.grad().view({-1});
  QCOMPARE(g[0].item<double>(), -1.0);
  QCOMPARE(g[1].item<double>(), 0.0);
  QCOMPARE(g[2].item<double>(), 3.0);
  predicted.grad().zero_();
  auto unlabelled = train::regressionLoss(predicted, at::tensor({nan, nan, nan}));
  QCOMPARE(unlabelled.item<double>(), 0.0);
  unlabelled.backward();
  QCOMPARE(predicted.grad().abs().sum().item<double>(), 0.0);
  // Fully labelled, the same as torch's mean losses.
  auto y = at::tensor({0.5f, -1.0f, 2.0f});
  QVERIFY(std::abs(train::regressionLoss(predicted, y).item<double>() - at::mse_loss(predicted.view({-1}), y).item<double>()) < 1e-6);
  auto labels = at::tensor({1, 0, 1}, at::kLong);
  QVERIFY(std::abs(train::classificationLoss(logits, labels).item<double>() - at::cross_entropy_loss(logits, labels).item<double>()) < 1e-6);
  // Causal LM: every target masked.
  auto lm = at::randn({1, 4, 5}).requires_grad_();
  QCOMPARE(train::causalLmLoss(lm, at::full({1, 4}, -100, at::kLong)).item<double>(), 0.0);
}

// A NaN in the best metrics (accuracy on an unlabelled eval set) was written as null into
// state.json, and every resume then failed reading it.
void TestTraining::checkpointKeepsOnlyFiniteBestMetrics() {
  test::TempDir tmp;
  auto makeMethod = [](float value) {
    train::PreparedMethod m;
    train::ParamGroup g;
    g.name = "all";
    g.lr = 0.1;
    g.params.emplace_back("w", at::full({3}, value).requires_grad_());
    m.groups.push_back(g);
    return m;
  };
  auto saved = makeMethod(1.5f);
  torch::optim::AdamW opt({saved.groups[0].params[0].second}, torch::optim::AdamWOptions(0.1));
  saved.groups[0].params[0].second.sum().backward();
  opt.step();
  train::TrainPosition pos;
  pos.step = 7;
  pos.best = {{"accuracy", std::nan("")}, {"matthews", 0.0}, {"loss", 0.75}};
  const auto dir = tmp.file("step-7");
  train::saveTrainState(dir, saved, opt, pos);
  const auto state = readJsonFile(dir + "/state.json");
  QCOMPARE(state["best"], (json{{"matthews", 0.0}, {"loss", 0.75}}));
  auto loaded = makeMethod(0.0f);
  torch::optim::AdamW opt2({loaded.groups[0].params[0].second}, torch::optim::AdamWOptions(0.1));
  auto back = train::loadTrainState(dir, loaded, opt2);
  QCOMPARE(back.step, int64_t(7));
  QCOMPARE(back.best, (std::map<std::string, double>{{"matthews", 0.0}, {"loss", 0.75}}));
  QVERIFY(loaded.groups[0].params[0].second.equal(saved.groups[0].params[0].second));
  // A checkpoint written before the fix (null) resumes; a value of another type is refused by name.
  auto old = state;
  old["best"]["accuracy"] = nullptr;
  test::writeBytes(dir + "/state.json", old.dump());
  QCOMPARE(train::loadTrainState(dir, loaded, opt2).best.size(), size_t(2));
  old["best"]["accuracy"] = "high";
  test::writeBytes(dir + "/state.json", old.dump());
  FW_EXPECT_ERROR(train::loadTrainState(dir, loaded, opt2), "state.json", "field 'best.accuracy'", "must be a number");
  // A damaged state is told with its field (it resumed inexactly, or failed without the file).
  auto damaged = state;
  damaged["adam_steps"]["w"] = -1;  // bias correction 0: NaN parameters
  test::writeBytes(dir + "/state.json", damaged.dump());
  FW_EXPECT_ERROR(train::loadTrainState(dir, loaded, opt2), "state.json", "field 'adam_steps.w'", "positive integer", "got -1");
  damaged = state;
  damaged.erase("adam_steps");  // the moments were dropped in silence
  test::writeBytes(dir + "/state.json", damaged.dump());
  FW_EXPECT_ERROR(train::loadTrainState(dir, loaded, opt2), "field 'adam_steps'", "remove its folder");
  damaged = state;
  damaged["step"] = "7";
  test::writeBytes(dir + "/state.json", damaged.dump());
  FW_EXPECT_ERROR(train::loadTrainState(dir, loaded, opt2), "field 'step'", "got \"7\"");
  test::writeBytes(dir + "/state.json", "[1, 2]");
  FW_EXPECT_ERROR(train::loadTrainState(dir, loaded, opt2), "state.json is not a JSON object");
}

// HF's Trainer (get_decay_parameter_names) gives biases and LayerNorm parameters no weight decay.
void TestTraining::weightDecaySparesBiasesAndLayerNorms() {
  auto e = experiment({{"schema_version", 1}, {"name", "decay"}, {"model", {{"preset", "vit-fmnist"}}},
                       {"dataset", {{"kind", "idx_images"}, {"train", kFmnist}}}, {"weight_decay", 0.01},
                       {"methods", {{{"type", "full"}, {"lr", 0.001}},
                                    {{"type", "lora"}, {"r", 2}, {"lr", 0.01}, {"target_modules", {"query", "value"}}}}},
                       {"trainable_modules", {"classifier"}}});
  auto groupsOf = [&](const train::MethodSpec& m) {
    std::map<std::string, std::pair<bool, std::vector<std::string>>> out;
    auto prepared = train::prepareMethod(models::buildPreset("vit-fmnist", 1, 5), m, e);
    for (const auto& g : prepared.groups) {
      auto& [decay, names] = out[g.name];
      decay = g.decay;
      for (const auto& [n, t] : g.params) names.push_back(n);
    }
    return out;
  };
  auto contains = [](const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  auto full = groupsOf(e.methods[0]);
  QCOMPARE(full.size(), size_t(2));
  QVERIFY(full["all"].first && !full["all (no decay)"].first);
  for (const auto& n : full["all"].second)
    QVERIFY2(n.find("bias") == std::string::npos && n.find("layernorm") == std::string::npos, n.c_str());
  for (const char* n : {"vit.encoder.layer.0.layernorm_before.weight", "vit.layernorm.weight", "classifier.bias",
                        "vit.encoder.layer.0.attention.attention.query.bias"})
    QVERIFY2(contains(full["all (no decay)"].second, n), n);
  QVERIFY(contains(full["all"].second, "vit.encoder.layer.0.attention.attention.query.weight"));
  auto lora = groupsOf(e.methods[1]);
  QCOMPARE(lora.size(), size_t(3));
  QVERIFY(lora["adapter"].first && lora["head"].first && !lora["head (no decay)"].first);
  QCOMPARE(lora["head"].second, std::vector<std::string>{"classifier.weight"});
  QCOMPARE(lora["head (no decay)"].second, std::vector<std::string>{"classifier.bias"});
  QCOMPARE(lora["adapter"].second.size(), size_t(4));  // lora_A and lora_B of query and value
}

// In a data-parallel run each rank's dropout draws its own numbers (its batch is padded to its own
// longest row): rank 0 writes every rank's state, and each resumes with its own (all took rank 0's).
void TestTraining::eachRankResumesItsOwnRandomState() {
  test::TempDir tmp;
  train::PreparedMethod m;
  train::ParamGroup g;
  g.name = "all";
  g.params.emplace_back("w", at::zeros({2}).requires_grad_());
  m.groups.push_back(g);
  torch::optim::AdamW opt({m.groups[0].params[0].second}, torch::optim::AdamWOptions(0.1));
  at::manual_seed(11);
  (void)at::rand({7});
  const auto rank1 = train::randomStates(m).at(0);  // rank 1's state, as gathered
  QCOMPARE(rank1.first, std::string("rng.cpu"));
  const auto next1 = at::rand({5});  // what rank 1 draws next
  at::manual_seed(3);
  const auto next0State = train::randomStates(m).at(0).second;
  const auto next0 = at::rand({5});  // rank 0's next draws
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(next0State);
  }
  train::saveTrainState(tmp.file("ckpt"), m, opt, {}, {{"rng.cpu.rank1", rank1.second}});
  (void)at::rand({100});
  train::loadTrainState(tmp.file("ckpt"), m, opt, /*rank=*/1);
  QVERIFY(at::equal(at::rand({5}), next1));
  train::loadTrainState(tmp.file("ckpt"), m, opt, /*rank=*/0);
  QVERIFY(at::equal(at::rand({5}), next0));
  train::loadTrainState(tmp.file("ckpt"), m, opt, /*rank=*/2);  // none of its own: rank 0's (older checkpoints)
  QVERIFY(at::equal(at::rand({5}), next0));
}

// max_steps overrides epochs, as in HF's Trainer: the data is gone over again (it was a cap).
void TestTraining::maxStepsOverridesEpochs() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  auto e = experiment({{"schema_version", 1}, {"name", "steps"}, {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
                       {"dataset", {{"kind", "idx_images"}, {"train", kFmnist}, {"classes", {5, 6}}, {"train_limit", 64}}},
                       {"methods", {{{"type", "lora"}, {"r", 2}, {"lr", 0.01}, {"target_modules", {"query", "value"}}}}},
                       {"trainable_modules", {"classifier"}}, {"batch_size", 32}, {"epochs", 1}, {"max_steps", 5},
                       {"seed", 1}, {"device", "cpu"}});
  const auto run = runExperiment(e, tmp.path());
  const auto steps = test::metricEvents(run, "step", "lora");
  QCOMPARE(steps.size(), size_t(5));  // 2 batches an epoch: 3 epochs, the last cut short
  QCOMPARE(steps.back()["epoch"].get<int64_t>(), int64_t(2));
}

// A run with precision bf16 evaluates under the same autocast it trains with, as HF's Trainer
// does; evaluation in float32 gave other figures than the training's precision would.
void TestTraining::bf16RunEvaluatesUnderAutocast() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  const json images = {{"kind", "idx_images"}, {"train", kFmnist}, {"eval", kFmnist}, {"classes", {5, 6}},
                       {"train_limit", 64}, {"eval_limit", 48}};
  // A cached pretrained base (a preset's random weights are not saved), so that the trained
  // model can be rebuilt from the run folder.
  auto e = experiment({{"schema_version", 1}, {"name", "bf16"},
                       {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}},
                                  {"pretrain", {{"dataset", images}, {"epochs", 1}, {"batch_size", 32}, {"cache", tmp.file("base")}}}}},
                       {"dataset", images},
                       {"methods", {{{"type", "lora"}, {"r", 2}, {"lr", 0.01}, {"target_modules", {"query", "value"}}}}},
                       {"trainable_modules", {"classifier"}}, {"batch_size", 32}, {"epochs", 1}, {"precision", "bf16"},
                       {"seed", 1}, {"device", "cpu"}});
  const auto run = runExperiment(e, tmp.path());
  const double logged = test::metricEvents(run, "eval", "lora").back()["loss"].get<double>();
  auto folder = runs::RunFolder::open(run);
  auto exp = train::Experiment::fromJson(folder.readExperiment());
  auto trained = train::loadTrainedModel(folder, exp, "lora", at::kCPU);
  auto data = train::loadTrainData(exp.dataset, "");
  const double bf16 = train::evaluate(*trained.model, data.eval, 32, 0, at::kCPU, "", nullptr, true).loss;
  const double fp32 = train::evaluate(*trained.model, data.eval, 32, 0, at::kCPU).loss;
  QVERIFY2(std::abs(logged - bf16) <= 1e-6 * std::abs(bf16),
           qPrintable(QString("logged %1, bf16 %2, fp32 %3").arg(logged, 0, 'g', 10).arg(bf16, 0, 'g', 10).arg(fp32, 0, 'g', 10)));
  // bfloat16 keeps 8 bits of mantissa: the two evaluations must differ, or the test shows nothing.
  QVERIFY2(std::abs(bf16 - fp32) > 1e-5 * std::abs(fp32), qPrintable(QString("bf16 %1, fp32 %2").arg(bf16).arg(fp32)));
}

// A checkpoint whose config names the data's classes in another order keeps its head's meaning:
// the run renumbers the data (run_glue.py's rule), says so, and records the checkpoint's order.
void TestTraining::checkpointsLabelOrderIsKept() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  const json images = {{"kind", "idx_images"}, {"train", kFmnist}, {"classes", {5, 6}}, {"train_limit", 64}};
  // A base with a two-class head (Sandal, Shirt): a cached pretrain stage.
  runExperiment(experiment({{"schema_version", 1}, {"name", "base"},
                            {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}},
                                       {"pretrain", {{"dataset", images}, {"epochs", 1}, {"batch_size", 32}, {"cache", tmp.file("base")}}}}},
                            {"dataset", images}, {"methods", {{{"type", "head-only"}}}}, {"trainable_modules", {"classifier"}},
                            {"batch_size", 32}, {"epochs", 1}, {"device", "cpu"}}),
                tmp.file("pre"));
  // That base as a fine-tuned checkpoint whose head says 0 = Shirt, 1 = Sandal.
  auto config = readJsonFile(tmp.file("base/config.json"));
  QCOMPARE(config["label2id"], json({{"Sandal", 0}, {"Shirt", 1}}));
  config["id2label"] = {{"0", "Shirt"}, {"1", "Sandal"}};
  config["label2id"] = {{"Shirt", 0}, {"Sandal", 1}};
  test::writeBytes(tmp.file("base/config.json"), config.dump());
  auto e = experiment({{"schema_version", 1}, {"name", "order"}, {"model", {{"checkpoint", tmp.file("base")}}},
                       {"dataset", images},
                       {"methods", {{{"type", "lora"}, {"r", 2}, {"lr", 0.01}, {"target_modules", {"query", "value"}}}}},
                       {"batch_size", 32}, {"epochs", 1}, {"device", "cpu"}});
  const auto run = runExperiment(e, tmp.file("runs"));
  const auto summary = readJsonFile(run + "/summary.json");
  QCOMPARE(summary["model_overrides"]["id2label"], json({{"0", "Shirt"}, {"1", "Sandal"}}));
  std::ifstream logFile(run + "/log.txt");
  const std::string log((std::istreambuf_iterator<char>(logFile)), std::istreambuf_iterator<char>());
  QVERIFY2(log.find("labels renumbered to the checkpoint's ids, as run_glue.py does: Sandal 0→1, Shirt 1→0") !=
               std::string::npos,
           log.c_str());
  // A fresh head has no order to keep: the data's stays, and nothing is said (the default
  // experiment's log said the cached base's head had other classes).
  auto fresh = e;
  fresh.model.fresh_head = true;
  const auto freshRun = runExperiment(fresh, tmp.file("fresh"));
  QCOMPARE(readJsonFile(freshRun + "/summary.json")["model_overrides"]["id2label"], json({{"0", "Sandal"}, {"1", "Shirt"}}));
  std::ifstream freshLog(freshRun + "/log.txt");
  const std::string freshText((std::istreambuf_iterator<char>(freshLog)), std::istreambuf_iterator<char>());
  QVERIFY2(freshText.find("renumbered") == std::string::npos && freshText.find("other classes") == std::string::npos,
           freshText.c_str());
}

// fresh_head on a causal LM would wipe its pretrained lm_head (untied, as LLaMA's): refused.
void TestTraining::freshHeadRefusedForACausalLm() {
  const auto model = test::sharedPath("data/models/tiny-gpt2-random");
  const auto alpaca = test::sharedPath("data/instructions/alpaca_data_1k.json");
  if (model.empty() || alpaca.empty()) QSKIP("../shared/data (tiny GPT-2, Alpaca) not found");
  test::TempDir tmp;
  auto e = experiment({{"schema_version", 1}, {"name", "fresh"},
                       {"model", {{"checkpoint", model}, {"fresh_head", true}, {"config", {{"tie_word_embeddings", false}}}}},
                       {"dataset", {{"kind", "instructions"}, {"train", alpaca}, {"train_limit", 8}, {"max_length", 32}, {"bad_rows", "skip"}}},
                       {"methods", {{{"type", "lora"}, {"r", 1}, {"lr", 0.01}, {"target_modules", {"c_attn"}}}}},
                       {"batch_size", 4}, {"max_steps", 1}, {"epochs", 1}, {"device", "cpu"}});
  FW_EXPECT_ERROR(runExperiment(e, tmp.path()), "model.fresh_head", "a causal LM has none", "leave fresh_head out");
}

// Killed after the last checkpoint, before summary.json recorded the method: the resume takes no
// step, yet it must evaluate (final metrics) and leave the only checkpoint as it was.
void TestTraining::resumeAtTheLastStepEvaluatesAndKeepsCheckpoint() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  auto e = experiment({{"schema_version", 1}, {"name", "last"}, {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
                       {"dataset", {{"kind", "idx_images"}, {"train", kFmnist}, {"eval", kFmnist}, {"classes", {0, 1}},
                                    {"train_limit", 64}, {"eval_limit", 32}, {"mean", 0.286}, {"std", 0.353}}},
                       {"methods", {{{"type", "fourierft"}, {"n_frequency", 16}, {"scaling", 16.0}, {"lr", 0.1},
                                     {"target_modules", {"query"}}}}},
                       {"trainable_modules", {"classifier"}}, {"batch_size", 16}, {"epochs", 1}, {"keep_checkpoints", 1},
                       {"seed", 5}, {"device", "cpu"}});
  const auto path = runExperiment(e, tmp.path());
  auto run = runs::RunFolder::open(path);
  auto summary = run.readSummary().value();
  const json whole = summary["methods"]["fourierft"];
  QCOMPARE(whole["steps"].get<int64_t>(), int64_t(4));
  QVERIFY(whole["final_metrics"]["accuracy"].is_number());
  const auto ckpt = run.latestCheckpoint("fourierft");
  QVERIFY(ckpt && ckpt->step == 4);
  std::map<std::string, std::pair<std::string, std::filesystem::file_time_type>> before;
  for (const auto& f : std::filesystem::directory_iterator(ckpt->dir))
    before[f.path().filename().string()] = {readTextFile(f.path().string()), f.last_write_time()};
  // The kill: the method's result never reached summary.json.
  summary["methods"].erase("fourierft");
  summary["status"] = "running";
  test::writeBytes(run.file(runs::run_files::kSummary), summary.dump(2));
  runExperiment(e, "", nullptr, nullptr, path);
  const auto resumed = run.readSummary().value();
  QCOMPARE(resumed["status"].get<std::string>(), std::string("finished"));
  const auto& r = resumed["methods"]["fourierft"];
  QCOMPARE(r["status"].get<std::string>(), std::string("finished"));
  QCOMPARE(r["steps"].get<int64_t>(), int64_t(4));
  QVERIFY2(r["final_metrics"].contains("accuracy") && r["final_metrics"].contains("loss"), r["final_metrics"].dump().c_str());
  QCOMPARE(r["final_metrics"]["accuracy"].get<double>(), whole["final_metrics"]["accuracy"].get<double>());
  QCOMPARE(r["final_metrics"]["loss"].get<double>(), whole["final_metrics"]["loss"].get<double>());
  // The checkpoint it resumed from was not rewritten.
  const auto after = run.latestCheckpoint("fourierft");
  QVERIFY(after && after->step == 4 && after->dir == ckpt->dir);
  std::map<std::string, std::pair<std::string, std::filesystem::file_time_type>> now;
  for (const auto& f : std::filesystem::directory_iterator(after->dir))
    now[f.path().filename().string()] = {readTextFile(f.path().string()), f.last_write_time()};
  QCOMPARE(now.size(), before.size());
  QVERIFY(now == before);
}

// A user stop in the pretrain stage ends the run "stopped" (not failed), caches nothing, and
// the run resumes to the end.
void TestTraining::stopDuringPretrainEndsStopped() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  const json images = {{"kind", "idx_images"}, {"train", kFmnist}, {"classes", {0, 1}}, {"train_limit", 64},
                       {"mean", 0.286}, {"std", 0.353}};
  auto e = experiment({{"schema_version", 1}, {"name", "pre-stop"},
                       {"model", {{"preset", "vit-fmnist"}, {"fresh_head", true}, {"config", {{"num_hidden_layers", 1}}},
                                  {"pretrain", {{"dataset", images}, {"epochs", 1}, {"batch_size", 16}, {"cache", tmp.file("base")}}}}},
                       {"dataset", images}, {"methods", {{{"type", "head-only"}}}},
                       {"trainable_modules", {"classifier"}}, {"batch_size", 16}, {"epochs", 1}, {"device", "cpu"}});
  Recorder rec;
  rec.stopAfter = 1;
  const auto index = tmp.file("runs.sqlite");
  std::string path;
  try {
    path = runExperiment(e, tmp.file("runs"), &rec, &rec.stop, "", index);
  } catch (const std::exception& err) {
    QFAIL(err.what());
  }
  QCOMPARE(rec.losses.size(), size_t(1));  // one base step, no method
  auto summary = runs::RunFolder::open(path).readSummary().value();
  QCOMPARE(summary["status"].get<std::string>(), std::string("stopped"));
  QVERIFY(summary["methods"].empty());
  QCOMPARE(runs::RunIndex::open(index).byFolder(path)->status, runs::RunStatus::Stopped);
  QVERIFY(!std::filesystem::exists(tmp.file("base/model.safetensors")));
  QVERIFY(!std::filesystem::exists(tmp.file("base/workbench_pretrain.json")));
  runExperiment(e, "", nullptr, nullptr, path, index);
  summary = runs::RunFolder::open(path).readSummary().value();
  QCOMPARE(summary["status"].get<std::string>(), std::string("finished"));
  QCOMPARE(summary["methods"]["head-only"]["steps"].get<int64_t>(), int64_t(4));
  QVERIFY(std::filesystem::exists(tmp.file("base/workbench_pretrain.json")));
  QCOMPARE(runs::RunIndex::open(index).byFolder(path)->status, runs::RunStatus::Finished);
}

// An evaluation file that gives no example (only a header, or every row skipped as bad) is an
// error naming it: the run ended without an evaluation, and said nothing.
void TestTraining::emptyEvaluationSetIsAnError() {
  const auto bert = test::sharedPath("data/tokenizers/bert-base-uncased");
  if (bert.empty()) QSKIP("../shared/data/tokenizers not found");
  test::TempDir tmp;
  test::writeBytes(tmp.file("train.csv"), "text,label\ngood,1\nbad,0\n");
  test::writeBytes(tmp.file("header.csv"), "text,label\n");
  test::writeBytes(tmp.file("bad.csv"), "text,label\nx,1,2\ny\n");
  train::DatasetSpec d;
  d.kind = "table";
  d.train = tmp.file("train.csv");
  d.text = "text";
  d.label = "label";
  d.bad_rows = "skip";
  QCOMPARE(train::loadTrainData(d, bert).eval.examples.size(), size_t(0));  // no eval file: none
  d.eval = tmp.file("header.csv");
  const std::string expected = d.eval + ": field 'dataset.eval': the evaluation set is empty: got no rows (fix the file, "
                                        "or leave the evaluation set out)";
  FW_EXPECT_ERROR(train::loadTrainData(d, bert), expected.c_str());
  d.eval = tmp.file("bad.csv");
  FW_EXPECT_ERROR(train::loadTrainData(d, bert), "the evaluation set is empty: got 2 bad rows skipped");
  // In the pretrain stage, named as the experiment names it there.
  FW_EXPECT_ERROR(train::loadTrainData(d, bert, "model.pretrain.dataset"), "field 'model.pretrain.dataset.eval'");
}

// An analysis snapshot that fails is logged once and the method trains on: it made the method
// fail before its checkpoint and adapter were written.
void TestTraining::failingSnapshotKeepsTheRun() {
  if (!std::filesystem::exists(kFmnist)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
  test::TempDir tmp;
  auto e = experiment({{"schema_version", 1}, {"name", "snap"}, {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
                       {"dataset", {{"kind", "idx_images"}, {"train", kFmnist}, {"classes", {0, 1}}, {"train_limit", 128}}},
                       {"methods", {{{"type", "fourierft"}, {"n_frequency", 32}, {"scaling", 16.0}, {"lr", 0.1},
                                     {"target_modules", {"query"}}}}},
                       {"trainable_modules", {"classifier"}}, {"batch_size", 16}, {"epochs", 1}, {"device", "cpu"}});
  train::TrainerOptions o;
  o.runsDir = tmp.path();
  o.onRunFolder = [](const std::string& dir, int) {  // a file where the method's snapshot folder goes
    std::filesystem::create_directories(dir + "/analysis");
    test::writeBytes(dir + "/analysis/fourierft", "in the way");
  };
  train::Trainer t(e, o, nullptr, nullptr);
  const auto run = t.run();
  auto folder = runs::RunFolder::open(run);
  QCOMPARE(folder.readSummary().value()["status"].get<std::string>(), std::string("finished"));
  QVERIFY(std::filesystem::exists(run + "/adapters/fourierft/peft/adapter_model.safetensors"));
  QCOMPARE(test::metricEvents(run, "step").size(), size_t(8));
  const auto log = readTextFile(folder.file(runs::run_files::kLog));
  const std::string said = "analysis of method 'fourierft' at step 1 failed, and no more snapshots of it are taken (training goes on): ";
  QVERIFY2(log.find(said) != std::string::npos, log.c_str());
  QCOMPARE(log.find("analysis of method", log.find(said) + 1), std::string::npos);  // once
}

QTEST_APPLESS_MAIN(TestTraining)
#include "tst_training.moc"
