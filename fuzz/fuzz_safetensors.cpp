// io::SafetensorsFile (core/io/safetensors): checkpoints, adapters and reference tensors are read
// through it (mmap, header JSON, dtype table, offsets). Every tensor it lists is materialised and
// summed, so a header that passes validation must describe bytes that are really there. Links
// LibTorch (built only when fuzz/ finds it).
#include "fuzz_common.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fw::fuzz::scratchDir() + "/model.safetensors";
  fw::fuzz::writeFile(path, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    auto file = fw::io::SafetensorsFile::open(path);
    for (const auto& name : file.names()) {
      auto t = file.tensor(name);
      if (t.numel() > 0) (void)t.to(at::kDouble).sum().item<double>();
    }
  } catch (const fw::Error& e) {
    fw::fuzz::note(e);
  }
  return 0;
}
