#pragma once
// A model's inputs read from a safetensors file (input_ids, attention_mask, token_type_ids as
// int64, pixel_values as float32; the ones the file lacks stay undefined), on `device`: the
// format of transformers' reference fixtures and of `fourierft forward --inputs`.
#include "models/model.h"

namespace fw::io {
class SafetensorsFile;
}

namespace fw::models {

ModelInputs modelInputsFrom(const io::SafetensorsFile& file, const c10::Device& device = c10::Device(c10::kCPU));

}  // namespace fw::models
