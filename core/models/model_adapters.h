#pragma once
// Adapters on whole models: PEFT folders whose module names come from another transformers
// version are renamed through the architecture's alias table, and the task head is what PEFT's
// "all-linear" leaves out.
#include "adapters/adapter_folder.h"
#include "models/model.h"

namespace fw::models {

// Reads nothing: renames the folder's modules (aliases) and applies it to the model.
adapters::AdapterSummary attachAdapterFolder(PretrainedModel& model, adapters::AdapterFolder folder);

// Injects fresh adapters of a config into the model (targets matched on its module names).
adapters::AdapterSummary attachNewAdapters(PretrainedModel& model, const adapters::AdapterConfig& config);

}  // namespace fw::models
