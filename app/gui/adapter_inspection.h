#pragma once
// A PEFT (or native) adapter folder applied to its base checkpoint, analysed without training:
// the singular values of ΔW per layer and the Fourier magnitude of the first layer's ΔW.
// Computed off the GUI thread (QtConcurrent), shown by the window. No LibTorch in this header.
#include "spectrum_image.h"

#include <QString>
#include <QVector>

namespace fw::gui {

struct InspectedLayer {
  QString name;
  QVector<double> singularValues;
  double effectiveRank = 0;
  bool truncated = false;
  int total = 0;  // min(out, in)
  double floor = 0;  // ΔW's rounding level (analysis::roundingFloor): σ at or below it are noise
};

struct AdapterInspection {
  QString adapter, base, method, error;
  QVector<InspectedLayer> layers;
  QString spectrumLayer;
  SpectrumImage spectrum;  // of spectrumLayer
};

AdapterInspection inspectAdapter(const QString& adapterDir, const QString& baseDir);

}  // namespace fw::gui
