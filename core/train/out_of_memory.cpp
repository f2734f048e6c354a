#include "train/out_of_memory.h"

#include <c10/util/Exception.h>

namespace fw::train {

namespace {

// The allocator's sentence without LibTorch's backtrace and hints (its first line).
std::string firstLine(const std::string& s) {
  const auto end = s.find('\n');
  return s.substr(0, end);
}

}  // namespace

std::optional<Error> allocationFailure(const std::exception& e, const StepContext& where) {
  const auto* c10error = dynamic_cast<const c10::Error*>(&e);
  if (!c10error) return std::nullopt;
  const std::string said = firstLine(c10error->msg());
  const bool cudaOom = dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
                       said.find("CUDA out of memory") != std::string::npos ||
                       said.find("CUDA error: out of memory") != std::string::npos ||
                       said.find("CUBLAS_STATUS_ALLOC_FAILED") != std::string::npos;
  const bool cpuOom = said.find("can't allocate memory") != std::string::npos;
  if (!cudaOom && !cpuOom) return std::nullopt;
  std::string batch = std::to_string(where.examples) + " examples";
  if (where.tokens > 0) batch += ", " + std::to_string(where.tokens) + " tokens";
  Error err(std::string(cudaOom ? "the GPU" : "the CPU") + " ran out of memory " +
            (where.evaluating ? "evaluating after step " : "at step ") + std::to_string(where.step) + " of method '" +
            where.method + "' (a batch of " + batch + ")");
  const std::string batchField = where.evaluating ? "eval_batch_size" : "batch_size";
  err.got(said).hint(cudaOom ? "lower " + batchField + " or max_length, use precision bf16, or adapt fewer modules; the last good "
                               "checkpoint is kept and the run can be resumed"
                             : "lower " + batchField + " or max_length, or close other programs; the last good checkpoint is "
                               "kept and the run can be resumed");
  return err;
}

}  // namespace fw::train
