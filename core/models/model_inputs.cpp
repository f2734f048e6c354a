#include "models/model_inputs.h"

#include "io/safetensors.h"

namespace fw::models {

ModelInputs modelInputsFrom(const io::SafetensorsFile& file, const c10::Device& device) {
  auto take = [&](const char* name, at::ScalarType t) {
    return file.contains(name) ? file.tensor(name).to(device, t) : at::Tensor();
  };
  ModelInputs in;
  in.input_ids = take("input_ids", at::kLong);
  in.attention_mask = take("attention_mask", at::kLong);
  in.token_type_ids = take("token_type_ids", at::kLong);
  in.pixel_values = take("pixel_values", at::kFloat);
  return in;
}

}  // namespace fw::models
