#include "adapters/adapter_folder.h"
#include "analysis/delta_weights.h"
#include "analysis/rank_stats.h"
#include "models/checkpoint.h"
#include "models/model_adapters.h"
#include "util/error.h"

#include "adapter_inspection.h"

namespace fw::gui {

AdapterInspection inspectAdapter(const QString& adapterDir, const QString& baseDir) {
  AdapterInspection r;
  r.adapter = adapterDir;
  r.base = baseDir;
  try {
    auto folder = adapters::readAdapterFolder(adapterDir.toStdString());
    r.method = folder.config.peft_type == adapters::PeftType::FourierFT ? "fourierft" : "lora";
    auto loaded = models::loadPretrained(baseDir.toStdString());
    models::attachAdapterFolder(*loaded.model, folder);
    auto deltas = analysis::adapterDeltas(*loaded.model);
    for (const auto& d : deltas) {
      auto stats = analysis::rankStats(d.delta, d.base);
      InspectedLayer l;
      l.name = QString::fromStdString(d.layer);
      auto sv = stats.singular.to(at::kDouble).contiguous();
      l.singularValues = QVector<double>(sv.data_ptr<double>(), sv.data_ptr<double>() + sv.numel());
      l.effectiveRank = stats.effectiveRank;
      l.truncated = stats.truncated;
      l.total = int(std::min(d.delta.size(0), d.delta.size(1)));
      l.floor = analysis::roundingFloor(stats.shape, stats.spectralNorm, d.delta.scalar_type() == at::kDouble);
      r.layers << l;
    }
    if (!deltas.empty()) {
      const auto& d = deltas.front();
      r.spectrumLayer = QString::fromStdString(d.layer);
      r.spectrum = spectrumImageOf(d);
    }
  } catch (const std::exception& e) {
    r.error = QString::fromStdString(e.what());
  }
  return r;
}

}  // namespace fw::gui
