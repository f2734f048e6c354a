#include "models/layers.h"

#include "util/error.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

namespace fw::models {

at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "gelu") return at::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return at::gelu(x, "tanh");
  if (name == "relu") return at::relu(x);
  if (name == "silu" || name == "swish") return at::silu(x);
  if (name == "quick_gelu") return x * at::sigmoid(1.702 * x);
  throw Error("unsupported activation '" + name + "'").expected("gelu, gelu_new, gelu_pytorch_tanh, relu, silu or quick_gelu");
}

void checkActivation(const std::string& name, const std::string& file, const char* field) {
  try {
    activation(name, at::zeros({1}));
  } catch (Error& e) {
    throw e.file(file).field(field);
  }
}

namespace {
// torch.finfo(dtype).min, which transformers adds where attention is not allowed.
double lowestValue(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble: return std::numeric_limits<double>::lowest();
    case at::kHalf: return -65504.0;
    case at::kBFloat16: return -3.3895313892515355e38;
    default: return double(std::numeric_limits<float>::lowest());
  }
}
}  // namespace

at::Tensor paddingMask(const at::Tensor& attentionMask, at::ScalarType dtype) {
  auto m = attentionMask.to(dtype).unsqueeze(1).unsqueeze(2);
  return (1.0 - m) * lowestValue(dtype);
}

at::Tensor causalMask(int64_t seq, const at::Tensor& attentionMask, at::ScalarType dtype, const at::Device& device) {
  auto allowed = at::ones({seq, seq}, at::TensorOptions(at::kBool).device(device)).tril().view({1, 1, seq, seq});
  if (attentionMask.defined()) allowed = allowed & attentionMask.to(at::kBool).view({attentionMask.size(0), 1, 1, seq});
  auto opts = at::TensorOptions(dtype).device(device);
  return at::where(allowed, at::zeros({}, opts), at::full({}, lowestValue(dtype), opts));
}

at::Tensor eagerAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                          double scale, double dropout, bool training, bool causal) {
  const double p = dropout > 0 && training ? dropout : 0.0;
#if TORCH_VERSION_MAJOR >= 2
  if (q.is_cuda())
    return at::scaled_dot_product_attention(q, k, v, mask.defined() ? c10::optional<at::Tensor>(mask.to(q.scalar_type())) : c10::nullopt,
                                            p, causal && !mask.defined(), c10::optional<double>(scale));
#endif
  auto scores = at::matmul(q, k.transpose(-1, -2)) * scale;
  if (mask.defined()) scores = scores + mask;
  else if (causal) scores = scores + causalMask(q.size(-2), {}, scores.scalar_type(), scores.device());
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  if (p > 0) probs = at::dropout(probs, p, true);
  return at::matmul(probs, v);
}

at::Tensor splitHeads(const at::Tensor& x, int64_t heads) {
  const auto b = x.size(0), s = x.size(1);
  return x.view({b, s, heads, x.size(2) / heads}).transpose(1, 2);
}

at::Tensor mergeHeads(const at::Tensor& x) {
  const auto b = x.size(0), s = x.size(2);
  return x.transpose(1, 2).reshape({b, s, x.size(1) * x.size(3)});
}

RMSNormImpl::RMSNormImpl(int64_t size, double eps, const at::TensorOptions& options) : eps_(eps) {
  weight = register_parameter("weight", at::ones({size}, options));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  auto h = x.to(at::kFloat);
  h = h * at::rsqrt(h.pow(2).mean(-1, true) + eps_);
  return weight * h.to(x.scalar_type());
}

std::pair<at::Tensor, at::Tensor> Rotary::table(int64_t seq, const at::Device& device) const {
  auto pos = at::arange(seq, at::TensorOptions(at::kFloat).device(device)) / positionScale;
  auto freqs = at::outer(pos, invFreq.to(device));
  auto emb = at::cat({freqs, freqs}, -1);
  return {emb.cos(), emb.sin()};
}

at::Tensor applyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto rotated = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  return (x.to(at::kFloat) * cos + rotated.to(at::kFloat) * sin).to(x.scalar_type());
}

}  // namespace fw::models
