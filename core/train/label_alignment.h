#pragma once
// A fine-tuned classification checkpoint keeps the meaning of its head's rows. As run_glue.py
// does, when the checkpoint's config names the data's classes (case aside) in another order, the
// data's labels are renumbered to the checkpoint's ids: roberta-large-mnli's head has
// 0 = CONTRADICTION, while GLUE's MNLI data numbers entailment 0.
#include "data/example.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace fw::train {

// Renumbers the labels of `datasets` (one class list: a train and an eval set) to `config`'s
// label2id when it names the data's classes in another order, and reorders their labelNames to
// match. Returns a line for the run's log when it renumbered them, or when the config names other
// classes than the data (the head's rows then take the data's names, as in run_glue.py, which
// warns); "" when the config has no names of its own (LABEL_0...), another number of classes, or
// the data's order, and for tasks without classes.
std::string alignLabelsToConfig(const std::vector<data::Dataset*>& datasets, const nlohmann::json& config);

// The config a run's base model starts from: `base`'s config.json (a checkpoint folder; none for
// a preset) with `overrides` (the experiment's model.config, or a run's model_overrides) on top.
nlohmann::json baseConfigWith(const std::string& base, const nlohmann::json& overrides);

}  // namespace fw::train
