#pragma once
// LibTorch keys an optimizer's per-parameter state by the parameter's TensorImpl: its address as
// a string in 1.13 (c10::guts::to_string, gone in 2.x), the pointer itself in 2.x.
#include <ATen/core/Tensor.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace fw::train {

template <typename Map>
typename Map::key_type optimizerStateKey(const at::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;  // what 1.13's c10::guts::to_string writes for a pointer
    s << static_cast<const void*>(p.unsafeGetTensorImpl());
    return s.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace fw::train
