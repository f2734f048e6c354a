// A PEFT or native adapter folder through adapters::readAdapterFolder, then attached to a small
// model as opening an adapter does (models::attachAdapterFolder: aliases, then
// applyAdapterFolder checks every module and shape), run, and every ΔW computed (what the
// adapter inspection shows). The input is 1 option byte (bits 0-2: the model, bert roberta gpt2
// llama vit, the shapes of the fixtures in ../shared/fixtures/hf with a 16-token vocabulary;
// bit 3: native layout), adapter_config.json NUL adapter_model.safetensors, or for native
// folders adapter_config.json NUL workbench.json NUL adapter_model.safetensors and
// workbench_positions.safetensors, each preceded by its 4-byte length (splitSized). Links LibTorch.
#include "fuzz_common.h"
#include "fuzz_models.h"
#include "adapters/adapter_folder.h"
#include "models/model_adapters.h"

namespace {

const char* const kModels[] = {
    R"({"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 128, "vocab_size": 16, "max_position_embeddings": 8})",
    R"({"model_type": "roberta", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 128, "vocab_size": 16, "max_position_embeddings": 10, "pad_token_id": 1})",
    R"({"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 2, "vocab_size": 16, "n_positions": 8})",
    R"({"model_type": "llama", "hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16, "vocab_size": 16})",
    R"({"model_type": "vit", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 128, "image_size": 32, "patch_size": 8, "num_channels": 3})",
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fw::fuzz::initTorch();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t option = data[0];
  const bool native = option & 8;
  const auto parts = fw::fuzz::splitNul(data + 1, size - 1, native ? 3 : 2);
  const std::string dir = fw::fuzz::freshDir("adapter");
  fw::fuzz::writeFile(dir + "/adapter_config.json", parts[0]);
  if (native && parts.size() > 1) fw::fuzz::writeFile(dir + "/workbench.json", parts[1]);
  if (!native && parts.size() > 1) fw::fuzz::writeFile(dir + "/adapter_model.safetensors", parts[1]);
  if (native && parts.size() > 2) {
    const auto files = fw::fuzz::splitSized(parts[2], 2);
    if (files.size() > 0) fw::fuzz::writeFile(dir + "/adapter_model.safetensors", files[0]);
    if (files.size() > 1) fw::fuzz::writeFile(dir + "/workbench_positions.safetensors", files[1]);
  }
  try {
    auto folder = fw::adapters::readAdapterFolder(dir);
    (void)fw::adapters::describeAdapterFolder(folder);
    auto model = fw::models::buildModel(nlohmann::json::parse(kModels[(option & 7) % 5]), "config.json",
                                        at::TensorOptions(at::kFloat));
    (void)fw::models::attachAdapterFolder(*model, std::move(folder)).table();
    fw::fuzz::runForward(*model);
    for (auto& [name, lin] : fw::adapters::adaptedLinears(*model))
      if (lin->adapter()) (void)lin->adapter()->deltaWeight().sum().item<float>();
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
