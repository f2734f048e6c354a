#pragma once
// Helpers shared by the test suites: where the shared fixtures are, temporary folders, and
// tensor comparisons that report the worst element.
#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace fw::test {

// ../shared (or $FW_SHARED_DIR); empty when absent.
std::string sharedDir();
// sharedDir() + "/" + relative, or empty when that path does not exist.
std::string sharedPath(const std::string& relative);

// A fresh empty folder under the system temp dir, removed by the destructor.
class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// max |a - b| / max(|b|, tiny): the error relative to the reference's magnitude.
double relativeError(const at::Tensor& a, const at::Tensor& reference);
double maxAbsDiff(const at::Tensor& a, const at::Tensor& b);

// Writes raw bytes to a file (for hand-made broken inputs).
void writeBytes(const std::string& path, const std::string& bytes);

// The metrics.jsonl events of a run folder of one kind ("step", "eval"), optionally of one
// method, in file order (a torn last line left by a kill is skipped).
std::vector<nlohmann::json> metricEvents(const std::string& runDir, const std::string& kind,
                                         const std::string& method = "");

}  // namespace fw::test

// QCOMPARE-like check with the numbers in the message.
#define FW_EXPECT_CLOSE(actual, reference, tol)                                                      \
  do {                                                                                               \
    const double fwErr_ = fw::test::relativeError((actual), (reference));                            \
    if (!(fwErr_ <= (tol)))                                                                          \
      QFAIL(qPrintable(QString("%1 vs %2: relative error %3 > %4").arg(#actual, #reference)          \
                           .arg(fwErr_, 0, 'g', 3).arg(double(tol), 0, 'g', 3)));                    \
  } while (0)

// Runs `stmt`, which must throw fw::Error whose message contains every given fragment.
#define FW_EXPECT_ERROR(stmt, ...)                                                                   \
  do {                                                                                               \
    bool fwThrown_ = false;                                                                          \
    try {                                                                                            \
      stmt;                                                                                          \
    } catch (const fw::Error& e) {                                                                   \
      fwThrown_ = true;                                                                              \
      const std::string fwMsg_ = e.what();                                                           \
      for (const char* fwPart_ : {__VA_ARGS__})                                                      \
        if (fwMsg_.find(fwPart_) == std::string::npos)                                               \
          QFAIL(qPrintable(QString("error message lacks '%1': %2").arg(fwPart_, QString::fromStdString(fwMsg_)))); \
    }                                                                                                \
    if (!fwThrown_) QFAIL("expected fw::Error from: " #stmt);                                        \
  } while (0)
