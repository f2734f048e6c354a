#pragma once
// An allocation that failed inside a training step, told as the user needs it (issue 10,
// "Memory"): which device (from the exception), method and step, the batch that did not fit, the allocator's own sizes
// and what to change. LibTorch reports CUDA as c10::OutOfMemoryError ("Tried to allocate 2.00 GiB
// (GPU 0; 79.11 GiB total capacity; ...)") and the CPU allocator as a plain c10::Error ("can't
// allocate memory: you tried to allocate N bytes"); a kernel launch or cuBLAS that cannot get its
// workspace says "CUDA error: out of memory" or CUBLAS_STATUS_ALLOC_FAILED in a plain c10::Error.
// Anything else is not ours to translate.
#include "util/error.h"

#include <cstdint>
#include <exception>
#include <optional>
#include <string>

namespace fw::train {

struct StepContext {
  std::string method;
  int64_t step = 0;      // 1-based, the step that failed
  int64_t examples = 0;  // in this process's batch
  int64_t tokens = 0;    // in this process's batch (0: not a token model or not known)
  bool evaluating = false;  // in the evaluation after `step`, not in the step itself
};

// The fw::Error for `e` when it is an allocation failure, otherwise nothing.
std::optional<Error> allocationFailure(const std::exception& e, const StepContext& where);

}  // namespace fw::train
