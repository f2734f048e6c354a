#include "analysis/delta_weights.h"
#include "analysis/fourier_spectrum.h"

#include "spectrum_image.h"

namespace fw::gui {

SpectrumImage spectrumImageOf(const analysis::LayerDelta& d) {
  SpectrumImage s;
  auto mag = at::nan_to_num(analysis::magnitudeSpectrum(d.delta).log10(), 0.0, 0.0, -12.0).to(at::kFloat).contiguous();
  s.d1 = int(mag.size(0));
  s.d2 = int(mag.size(1));
  s.magnitude = QVector<float>(mag.data_ptr<float>(), mag.data_ptr<float>() + mag.numel());
  if (d.positions.defined()) {
    auto p = d.positions.to(at::kCPU, at::kLong).contiguous();
    for (int64_t i = 0; i < p.size(1); ++i) {
      s.u << int(p[0][i].item<int64_t>());
      s.v << int(p[1][i].item<int64_t>());
    }
  }
  return s;
}

}  // namespace fw::gui
