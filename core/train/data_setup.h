#pragma once
// From an experiment's dataset section to the training and evaluation sets: picks the reader
// (GLUE, table, instructions, IDX images, image folder) and the tokenizer for text.
#include "train/experiment.h"
#include "train/train_loop.h"

namespace fw::train {

// GLUE, tables and instructions: datasets read with a tokenizer.
bool isTextDataset(const DatasetSpec& spec);

// `tokenizerDir`: the folder to read the tokenizer from (text datasets only). An error about a
// reader's option names the experiment's field, under `fieldPrefix` ("dataset", or
// "model.pretrain.dataset" for a pretrain stage).
TrainData loadTrainData(const DatasetSpec& spec, const std::string& tokenizerDir,
                        const std::string& fieldPrefix = "dataset");

}  // namespace fw::train
