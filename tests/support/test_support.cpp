#include "support/test_support.h"

#include "runs/run_folder.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace fw::test {

namespace fs = std::filesystem;

std::string sharedDir() {
  const char* env = std::getenv("FW_SHARED_DIR");
  std::string dir = env && *env ? env : FW_SHARED_DIR;
  return fs::is_directory(dir) ? fs::canonical(dir).string() : std::string();
}

std::string sharedPath(const std::string& relative) {
  auto dir = sharedDir();
  if (dir.empty()) return {};
  auto p = fs::path(dir) / relative;
  return fs::exists(p) ? p.string() : std::string();
}

TempDir::TempDir() {
  std::random_device rd;
  auto base = fs::temp_directory_path() / ("fw-test-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(base);
  path_ = base.string();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

double relativeError(const at::Tensor& a, const at::Tensor& reference) {
  if (a.sizes() != reference.sizes()) return std::numeric_limits<double>::infinity();
  const double scale = std::max(reference.to(at::kDouble).abs().max().item<double>(), 1e-30);
  return maxAbsDiff(a, reference) / scale;
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::vector<nlohmann::json> metricEvents(const std::string& runDir, const std::string& kind, const std::string& method) {
  std::vector<nlohmann::json> out;
  for (auto& line : runs::RunFolder::open(runDir).readMetrics())
    if (line.value("event", "") == kind && (method.empty() || line.value("method", "") == method)) out.push_back(line);
  return out;
}

}  // namespace fw::test
