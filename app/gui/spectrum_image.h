#pragma once
// What the spectrum view shows of one layer's ΔW: log10 |FFT2(ΔW)| and FourierFT's frequencies.
// Shared by a run's spectrum (main window) and an adapter inspected without training. No
// LibTorch in this header.
#include <QVector>

namespace fw::analysis {
struct LayerDelta;
}

namespace fw::gui {

struct SpectrumImage {
  int d1 = 0, d2 = 0;
  QVector<float> magnitude;  // log10 |FFT2(ΔW)|, d1 x d2; -12 where the magnitude is 0
  QVector<int> u, v;         // FourierFT's frequencies (empty for other methods)
};

SpectrumImage spectrumImageOf(const analysis::LayerDelta& delta);

}  // namespace fw::gui
