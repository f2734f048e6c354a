#pragma once
// Mixed precision (autocast) for one device type, in one place for LibTorch 1.13 and 2.x: 2.4
// replaced the per-device setters (set_enabled for CUDA, set_cpu_enabled) with ones that take the
// device type, and 2.10 removed the old ones.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>

namespace fw {

// Autocast to bfloat16 on `device`'s type for the life of the object (the trainer's step).
class AutocastScope {
 public:
  AutocastScope(bool on, const c10::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_;
  c10::DeviceType type_;
};

// The dtype autocast casts float32 matmuls to on `device`'s type, or nothing when it is off.
std::optional<c10::ScalarType> autocastDtype(const c10::Device& device);

}  // namespace fw
