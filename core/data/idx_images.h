#pragma once
// IDX files (the MNIST and Fashion-MNIST format), plain or gzip-compressed: a big-endian magic
// 0x000008NN (unsigned bytes, NN dimensions), NN big-endian uint32 sizes, then the data.
// Images are 0x00000803 [count, rows, cols], labels 0x00000801 [count].
#include "data/example.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fw::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

// Reads and validates one IDX file of unsigned bytes with `expectedDims` dimensions. The magic,
// the dimensions (no absurd sizes: checked before allocating, against the file length or
// against what gzip can expand to) and the length of the data (no truncation, no trailing
// bytes) are checked; errors name the file.
IdxArray readIdx(const std::string& path, int64_t expectedDims);

struct IdxOptions {
  // Keep only these classes, relabelled 0, 1, ... in this order (e.g. {5,6,7,8,9} -> 0..4).
  // Empty: keep all, labels as they are.
  std::vector<int64_t> classes;
  int64_t limit = 0;          // keep the first `limit` examples after filtering; 0: all
  double mean = 0.0, std = 1.0;  // pixel = (byte / 255 - mean) / std
  // Names of the file's classes (index = label byte). Empty: "0", "1", ... up to the largest
  // label. A label byte with no name is a bad row.
  std::vector<std::string> labelNames;
  BadRows badRows = BadRows::Fail;
  std::string name;
};

// Images and labels into an ImageClassification dataset of 1 x rows x cols images.
Dataset loadIdx(const std::string& imagesPath, const std::string& labelsPath, const IdxOptions& options = {});

// Fashion-MNIST's ten class names, "T-shirt/top" to "Ankle boot".
const std::vector<std::string>& fashionMnistLabelNames();

}  // namespace fw::data
