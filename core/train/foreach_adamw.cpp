#include "train/foreach_adamw.h"

#include "train/optimizer_state_key.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>

namespace fw::train {

torch::Tensor ForeachAdamW::step(LossClosure closure) {
  for (const auto& group : param_groups_)
    if (static_cast<const torch::optim::AdamWOptions&>(group.options()).amsgrad()) return AdamW::step(closure);
  at::NoGradGuard noGrad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enableGrad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    // Parameters by their step count after this step (all equal, unless some had no gradient).
    struct Lists { std::vector<at::Tensor> params, grads, expAvg, expAvgSq; };
    std::map<int64_t, Lists> bySteps;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "AdamW does not support sparse gradients");
      const auto key = optimizerStateKey<std::remove_reference_t<decltype(state_)>>(p);
      auto it = state_.find(key);
      if (it == state_.end()) {
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(0);
        s->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
        s->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        it = state_.emplace(key, std::move(s)).first;
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      s.step(s.step() + 1);
      auto& l = bySteps[s.step()];
      l.params.push_back(p);
      l.grads.push_back(p.grad());
      l.expAvg.push_back(s.exp_avg());
      l.expAvgSq.push_back(s.exp_avg_sq());
    }
    for (auto& [steps, l] : bySteps) {
      if (o.weight_decay() != 0) at::_foreach_mul_(l.params, 1 - o.lr() * o.weight_decay());
      at::_foreach_mul_(l.expAvg, beta1);
      at::_foreach_add_(l.expAvg, l.grads, 1 - beta1);
      at::_foreach_mul_(l.expAvgSq, beta2);
      at::_foreach_addcmul_(l.expAvgSq, l.grads, l.grads, 1 - beta2);
      const double biasCorrection1 = 1 - std::pow(beta1, double(steps));
      const double biasCorrection2 = 1 - std::pow(beta2, double(steps));
      auto denom = at::_foreach_sqrt(l.expAvgSq);
      at::_foreach_div_(denom, std::sqrt(biasCorrection2));
      at::_foreach_add_(denom, o.eps());
      at::_foreach_addcdiv_(l.params, l.expAvg, denom, -o.lr() / biasCorrection1);
    }
  }
  return loss;
}

}  // namespace fw::train
