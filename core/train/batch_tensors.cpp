#include "train/batch_tensors.h"

namespace fw::train {

namespace {
at::Tensor longs(const std::vector<int64_t>& v, std::vector<int64_t> shape, const c10::Device& d) {
  return at::tensor(at::ArrayRef<int64_t>(v), at::kLong).view(shape).to(d);
}
}  // namespace

BatchTensors toTensors(const data::Batch& b, data::TaskKind kind, const c10::Device& device) {
  BatchTensors t;
  if (kind == data::TaskKind::ImageClassification) {
    t.inputs.pixel_values =
        at::tensor(at::ArrayRef<float>(b.pixels), at::kFloat).view({b.size, b.channels, b.height, b.width}).to(device);
  } else {
    t.inputs.input_ids = longs(b.inputIds, {b.size, b.seqLen}, device);
    t.inputs.attention_mask = longs(b.attentionMask, {b.size, b.seqLen}, device);
    if (!b.tokenTypeIds.empty()) t.inputs.token_type_ids = longs(b.tokenTypeIds, {b.size, b.seqLen}, device);
    for (auto m : b.attentionMask) t.tokens += m;
  }
  if (kind == data::TaskKind::Classification || kind == data::TaskKind::ImageClassification)
    t.labels = longs(b.labels, {b.size}, device);
  if (kind == data::TaskKind::Regression) t.targets = at::tensor(at::ArrayRef<float>(b.targets), at::kFloat).to(device);
  if (kind == data::TaskKind::CausalLM) t.lmLabels = longs(b.lmLabels, {b.size, b.seqLen}, device);
  return t;
}

}  // namespace fw::train
