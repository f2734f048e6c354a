#include "adapters/fourierft_reference.h"

#include <cmath>

namespace fw::adapters {

at::Tensor naiveDeltaWeight(const at::Tensor& c, const at::Tensor& positions, int64_t d1, int64_t d2, double scale) {
  auto opts = at::TensorOptions(at::kDouble).device(c.device());
  auto u = positions[0].to(opts).view({-1, 1, 1});
  auto v = positions[1].to(opts).view({-1, 1, 1});
  auto j = at::arange(d1, opts).view({1, -1, 1});
  auto k = at::arange(d2, opts).view({1, 1, -1});
  auto angle = (u * j / double(d1) + v * k / double(d2)) * (2.0 * M_PI);
  return (c.to(at::kDouble).view({-1, 1, 1}) * at::cos(angle)).sum(0) * scale;
}

}  // namespace fw::adapters
