#include "util/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace fw {

namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
void setAutocast(c10::DeviceType type, bool enabled) {
  at::autocast::set_autocast_enabled(type, enabled);
  if (enabled) at::autocast::set_autocast_dtype(type, at::kBFloat16);
}
bool autocastEnabled(c10::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
c10::ScalarType autocastType(c10::DeviceType type) { return at::autocast::get_autocast_dtype(type); }
#else
void setAutocast(c10::DeviceType type, bool enabled) {
  if (type == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    if (enabled) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    if (enabled) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
}
bool autocastEnabled(c10::DeviceType type) {
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
c10::ScalarType autocastType(c10::DeviceType type) {
  return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
#endif

c10::DeviceType deviceTypeOf(const c10::Device& d) { return d.is_cuda() ? c10::DeviceType::CUDA : c10::DeviceType::CPU; }

}  // namespace

AutocastScope::AutocastScope(bool on, const c10::Device& device) : on_(on), type_(deviceTypeOf(device)) {
  if (on_) setAutocast(type_, true);
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  setAutocast(type_, false);
  at::autocast::clear_cache();
}

std::optional<c10::ScalarType> autocastDtype(const c10::Device& device) {
  if (!device.is_cuda() && !device.is_cpu()) return std::nullopt;
  const auto type = deviceTypeOf(device);
  if (!autocastEnabled(type)) return std::nullopt;
  return autocastType(type);
}

}  // namespace fw
