// ForeachAdamW (the multi-tensor AdamW the trainer and benchmarks use) computes what LibTorch's
// AdamW computes, bit for bit: parameters of several shapes and two groups, weight decay, a
// parameter without a gradient on some steps (its own step count), and its state read back by the
// base class's accessors (what train_state.cpp checkpoints).
#include "support/test_support.h"
#include "train/foreach_adamw.h"
#include "train/optimizer_state_key.h"

#include <QtTest>

using namespace fw;

namespace {

std::vector<at::Tensor> makeParams() {
  at::manual_seed(3);
  return {at::randn({7}).requires_grad_(), at::randn({4, 5}).requires_grad_(), at::randn({3, 2, 2}).requires_grad_(),
          at::randn({11}).requires_grad_()};
}

template <class Opt>
std::vector<at::Tensor> runSteps(Opt& opt, std::vector<at::Tensor>& ps, int steps) {
  for (int s = 0; s < steps; ++s) {
    at::manual_seed(100 + s);
    at::Tensor loss = at::zeros({});
    for (size_t i = 0; i < ps.size(); ++i)
      if (!(i == 3 && s % 2 == 1)) loss = loss + (ps[i] * at::randn(ps[i].sizes())).pow(2).sum();  // ps[3]: every other step
    loss.backward();
    opt.step();
    opt.zero_grad();
    ps[3].mutable_grad() = at::Tensor();  // no gradient at all (not zeros) in the steps it sits out
  }
  return ps;
}

auto key(const at::Tensor& p) {
  return train::optimizerStateKey<std::remove_reference_t<decltype(std::declval<torch::optim::AdamW&>().state())>>(p);
}

std::vector<torch::optim::OptimizerParamGroup> groups(const std::vector<at::Tensor>& ps) {
  std::vector<torch::optim::OptimizerParamGroup> g;
  g.emplace_back(std::vector<at::Tensor>{ps[0], ps[1]},
                 std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-2).weight_decay(0.1)));
  g.emplace_back(std::vector<at::Tensor>{ps[2], ps[3]},
                 std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(3e-3).weight_decay(0.0).betas({0.8, 0.95})));
  return g;
}

}  // namespace

class TestForeachAdamW : public QObject {
  Q_OBJECT
private slots:
  void equalsLibTorchAdamW();
};

void TestForeachAdamW::equalsLibTorchAdamW() {
  auto a = makeParams(), b = makeParams();
  torch::optim::AdamW reference(groups(a), torch::optim::AdamWOptions(1e-3));
  train::ForeachAdamW fused(groups(b), torch::optim::AdamWOptions(1e-3));
  runSteps(reference, a, 5);
  runSteps(fused, b, 5);
  for (size_t i = 0; i < a.size(); ++i) {
    QVERIFY2(at::equal(a[i], b[i]), qPrintable(QString("parameter %1 differs: max %2").arg(i)
                                                   .arg((a[i] - b[i]).abs().max().item<double>())));
    const auto& want = static_cast<const torch::optim::AdamWParamState&>(*reference.state().at(key(a[i])));
    const auto& got = static_cast<const torch::optim::AdamWParamState&>(*fused.state().at(key(b[i])));
    QCOMPARE(got.step(), want.step());
    QVERIFY(at::equal(got.exp_avg(), want.exp_avg()));
    QVERIFY(at::equal(got.exp_avg_sq(), want.exp_avg_sq()));
  }
  // The parameter that missed every other step counts its own steps.
  QCOMPARE(static_cast<const torch::optim::AdamWParamState&>(*fused.state().at(key(b[3]))).step(), int64_t(3));
}

QTEST_APPLESS_MAIN(TestForeachAdamW)
#include "tst_foreach_adamw.moc"
