#pragma once
// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw bytes.
// Reading maps the file (MAP_PRIVATE, so tensors are writable copy-on-write views) and
// validates the whole header before any tensor is handed out.
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fw::io {

// Every dtype the format defines with a whole number of bytes per element.
enum class StDtype { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64,
                     F8_E4M3, F8_E5M2, F8_E8M0, C64 };

const char* dtypeName(StDtype d);
size_t dtypeSize(StDtype d);
// The ATen type a tensor of this dtype is returned as. Types LibTorch 1.13 lacks are widened
// (U16 -> int32, U32/U64 -> int64, F8_* -> float32); the data is converted, not reinterpreted.
at::ScalarType atenType(StDtype d);
StDtype dtypeFromAten(at::ScalarType t);

struct TensorInfo {
  std::string name;
  StDtype dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets inside the data section
  int64_t numel() const;
};

class SafetensorsFile {
public:
  // Opens and validates; throws fw::Error naming the file (and the tensor) on any defect.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  std::vector<std::string> names() const;

  // The tensor on the CPU. Zero-copy (a view of the mapping that keeps it alive) when the
  // dtype exists in ATen and the bytes are aligned; otherwise a converted copy.
  at::Tensor tensor(const std::string& name) const;

private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<Mapping> map_;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes tensors (any device, made contiguous on the CPU) and string metadata. The file is
// written under a temporary name in the same folder, flushed and renamed, so a reader never
// sees half a file.
void saveSafetensors(const std::string& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata = {});

// Reads every tensor of a file, in file order.
NamedTensors loadSafetensors(const std::string& path);

}  // namespace fw::io
