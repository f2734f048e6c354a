#include "data/example.h"

namespace fw::data {

const char* taskKindName(TaskKind kind) {
  switch (kind) {
    case TaskKind::Classification: return "classification";
    case TaskKind::Regression: return "regression";
    case TaskKind::CausalLM: return "causal_lm";
    case TaskKind::ImageClassification: return "image_classification";
  }
  return "unknown";
}

}  // namespace fw::data
