// The training step's memory estimate (issue 10, "Memory"): the formula's values for a known shape,
// the refusal's message with the sizes and what to change, and a run whose step cannot fit in
// FW_MEMORY_LIMIT_MIB refused before its first step, the run marked failed with that message;
// LibTorch's CUDA and CPU allocation failures inside a step told with the step, batch and sizes.
#include "support/test_support.h"
#include "train/out_of_memory.h"
#include "train/step_memory.h"
#include "train/trainer.h"
#include "runs/run_folder.h"
#include "util/error.h"
#include "util/runtime.h"

#include <c10/util/Exception.h>

#include <QFile>
#include <QtTest>

#include <filesystem>
#include <stdexcept>

using namespace fw;
using nlohmann::json;

namespace {

const char* kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

const json kRobertaBase = {{"model_type", "roberta"}, {"vocab_size", 50265}, {"hidden_size", 768},
                           {"num_hidden_layers", 12}, {"num_attention_heads", 12}, {"intermediate_size", 3072}};

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Sets an environment variable for one scope.
struct EnvScope {
  EnvScope(const char* name, const QByteArray& value) : name_(name) { qputenv(name, value); }
  ~EnvScope() { qunsetenv(name_); }
  const char* name_;
};

}  // namespace

class TestStepMemory : public QObject {
  Q_OBJECT
private slots:
  void estimateForRobertaBase() {
    // Per layer and token: 18 x 768 + 2 x 3072 + 2 x 12 x 128 = 23,040 floats; 8 x 128 tokens x 12
    // layers, plus 4 x 768 per token for the embeddings and the head: 286,261,248 floats.
    train::StepShape shape{8, 128, 49152, false};
    const auto m = train::estimateStepMemory(kRobertaBase, shape);
    QCOMPARE(m.activationsMiB, 286261248.0 * 4 / 1048576);
    QCOMPARE(m.gradientsMiB, 49152.0 * 4 / 1048576);
    QCOMPARE(m.optimizerMiB, 2 * m.gradientsMiB);
    // A causal LM adds logits, their log-softmax and gradient over the vocabulary at every token.
    shape.causalLm = true;
    const auto lm = train::estimateStepMemory(kRobertaBase, shape);
    QCOMPARE(lm.activationsMiB - m.activationsMiB, 3.0 * 8 * 128 * 50265 * 4 / 1048576);
    // GPT-2's names read the same; n_inner absent means 4 x n_embd.
    const json gpt2 = {{"model_type", "gpt2"}, {"n_embd", 768}, {"n_layer", 12}, {"n_head", 12}, {"vocab_size", 50265}};
    QCOMPARE(train::estimateStepMemory(gpt2, shape).activationsMiB, lm.activationsMiB);
  }

  void refusalNamesSizesAndWhatToChange() {
    const train::StepShape shape{8, 128, 49152, false};
    const auto m = train::estimateStepMemory(kRobertaBase, shape);  // 1092.6 MiB
    QCOMPARE(errorOf([&] { train::checkStepMemory(m, 2000, 1, "lora", shape); }), std::string());
    const auto twice = errorOf([&] { train::checkStepMemory(m, 2000, 2, "lora", shape); });
    QVERIFY2(twice.find("a training step of method 'lora' will not fit in memory") != std::string::npos, twice.c_str());
    QVERIFY2(twice.find("1.76 GiB (90 % of the memory available now)") != std::string::npos, twice.c_str());
    QVERIFY2(twice.find("about 1.07 GiB (activations 1.07 GiB, gradients 0.2 MiB, AdamW state 0.4 MiB) for a "
                        "batch of 8 x 128 tokens, times 2 processes on this machine") != std::string::npos,
             twice.c_str());
    QVERIFY2(twice.find("lower batch_size or max_length, train fewer parameters, or free memory; "
                        "FW_SKIP_MEMORY_CHECK=1 trains anyway") != std::string::npos, twice.c_str());
    // Unknown availability: no check. FW_SKIP_MEMORY_CHECK=1: none either.
    QCOMPARE(errorOf([&] { train::checkStepMemory(m, -1, 1, "lora", shape); }), std::string());
    EnvScope skip("FW_SKIP_MEMORY_CHECK", "1");
    QCOMPARE(errorOf([&] { train::checkStepMemory(m, 10, 1, "lora", shape); }), std::string());
  }

  void runRefusedBeforeItsFirstStep() {
    if (!QFile::exists(kImages)) QSKIP("Fashion-MNIST (dataset-fashion-mnist) not installed");
    test::TempDir tmp;
    const json j = {{"schema_version", 1}, {"name", "too-big"},
                    {"model", {{"preset", "vit-fmnist"}, {"config", {{"num_hidden_layers", 1}}}}},
                    {"dataset", {{"kind", "idx_images"}, {"train", kImages}, {"classes", {0, 1}}, {"train_limit", 64}}},
                    {"methods", {{{"type", "fourierft"}, {"n_frequency", 50}, {"lr", 0.1}, {"target_modules", {"query"}}}}},
                    {"batch_size", 64}, {"epochs", 1}, {"device", "cpu"}};
    // 64 images x 50 tokens x (18 x 64 + 2 x 128 + 2 x 4 x 50) floats: 22 MiB, over 90 % of 10 MiB;
    // the weights (0.15 MiB) fit.
    EnvScope limit("FW_MEMORY_LIMIT_MIB", "10");
    train::TrainerOptions o;
    o.runsDir = tmp.file("runs");
    train::Trainer t(train::Experiment::fromJson(j, "test"), o, nullptr, nullptr);
    const auto err = errorOf([&] { t.run(); });
    QVERIFY2(err.find("a training step of method 'fourierft' will not fit in memory") != std::string::npos, err.c_str());
    QVERIFY2(err.find("batch of 64 x 50 tokens") != std::string::npos, err.c_str());
    std::vector<std::string> folders;
    for (const auto& entry : std::filesystem::directory_iterator(tmp.file("runs"))) folders.push_back(entry.path());
    QCOMPARE(folders.size(), size_t(1));
    const auto& run = folders.front();
    const auto summary = runs::RunFolder::open(run).readSummary().value();
    QCOMPARE(summary["status"].get<std::string>(), std::string("failed"));
    QVERIFY(test::metricEvents(run, "step").empty());
  }

  // LibTorch's own allocation failures, as they arrive from a step, become errors with the sizes.
  void allocationFailuresNameTheStep() {
    const train::StepContext where{"fourierft", 7, 16, 2048};
    const c10::OutOfMemoryError cuda({__func__, __FILE__, uint32_t(__LINE__)},
                                     "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.11 GiB total capacity; "
                                     "77.50 GiB already allocated; 1.10 GiB free; 78.00 GiB reserved in total by PyTorch)\n"
                                     "frame #0: c10::Error::Error");
    auto err = train::allocationFailure(cuda, where);
    QVERIFY(err.has_value());
    std::string text = err->what();
    for (const char* part : {"the GPU ran out of memory at step 7 of method 'fourierft' (a batch of 16 examples, 2048 tokens)",
                             "Tried to allocate 2.00 GiB (GPU 0; 79.11 GiB total capacity", "lower batch_size",
                             "precision bf16", "checkpoint is kept"})
      QVERIFY2(text.find(part) != std::string::npos, text.c_str());
    QVERIFY2(text.find("frame #0") == std::string::npos, text.c_str());  // no backtrace

    const c10::Error cpu({__func__, __FILE__, uint32_t(__LINE__)},
                         "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1099511627776 bytes. "
                         "Error code 12 (Cannot allocate memory)");
    err = train::allocationFailure(cpu, {"lora", 1, 8, 0});
    QVERIFY(err.has_value());
    text = err->what();
    for (const char* part : {"the CPU ran out of memory at step 1 of method 'lora' (a batch of 8 examples)",
                             "you tried to allocate 1099511627776 bytes", "lower batch_size"})
      QVERIFY2(text.find(part) != std::string::npos, text.c_str());

    // A kernel launch or cuBLAS without room for its workspace says so in a plain c10::Error.
    for (const char* said : {"CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported",
                             "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"}) {
      const c10::Error launch({__func__, __FILE__, uint32_t(__LINE__)}, said);
      err = train::allocationFailure(launch, where);
      QVERIFY2(err.has_value(), said);
      text = err->what();
      QVERIFY2(text.find("the GPU ran out of memory at step 7") != std::string::npos, text.c_str());
      QVERIFY2(text.find("asynchronously") == std::string::npos, text.c_str());  // first line only
    }

    // In the evaluation after a step: the batch to lower is eval_batch_size.
    err = train::allocationFailure(cuda, {"lora", 50, 64, 0, /*evaluating=*/true});
    QVERIFY(err.has_value());
    text = err->what();
    for (const char* part : {"the GPU ran out of memory evaluating after step 50 of method 'lora' (a batch of 64 examples)",
                             "lower eval_batch_size"})
      QVERIFY2(text.find(part) != std::string::npos, text.c_str());

    // Anything else is left as it was.
    const c10::Error shape({__func__, __FILE__, uint32_t(__LINE__)}, "mat1 and mat2 shapes cannot be multiplied");
    QVERIFY(!train::allocationFailure(shape, where).has_value());
    QVERIFY(!train::allocationFailure(std::runtime_error("out of memory"), where).has_value());
  }

  void limitMustBeANumber() {
    EnvScope limit("FW_MEMORY_LIMIT_MIB", "lots");
    const auto err = errorOf([] { availableMemoryMiB(); });
    QVERIFY2(err.find("FW_MEMORY_LIMIT_MIB is not a positive number of MiB") != std::string::npos, err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestStepMemory)
#include "tst_step_memory.moc"
