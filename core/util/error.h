#pragma once
// fw::Error: the one error type of the project. It carries what failed and where
// (file, tensor, line, field), the expected and actual values and a hint on what to do.
// what() joins them on one line, e.g.
//   model.safetensors: tensor 'encoder.layer.3.query.weight': expected [768, 768], got [768, 1024]
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace fw {

class Error : public std::exception {
public:
  explicit Error(std::string message) : message_(std::move(message)) { rebuild(); }

  Error& file(std::string path) { file_ = std::move(path); return rebuild(); }
  Error& tensor(std::string name) { tensor_ = std::move(name); return rebuild(); }
  Error& line(int64_t number) { line_ = number; return rebuild(); }
  Error& field(std::string name) { field_ = std::move(name); return rebuild(); }
  Error& expected(std::string what) { expected_ = std::move(what); return rebuild(); }
  Error& expected(const std::vector<int64_t>& shape) { return expected(shapeString(shape)); }
  Error& expected(std::initializer_list<int64_t> shape) { return expected(std::vector<int64_t>(shape)); }
  Error& got(std::string what) { got_ = std::move(what); return rebuild(); }
  Error& got(const std::vector<int64_t>& shape) { return got(shapeString(shape)); }
  Error& got(std::initializer_list<int64_t> shape) { return got(std::vector<int64_t>(shape)); }
  Error& hint(std::string text) { hint_ = std::move(text); return rebuild(); }

  const char* what() const noexcept override { return what_.c_str(); }
  const std::string& message() const { return message_; }
  const std::string& filePath() const { return file_; }
  const std::string& tensorName() const { return tensor_; }
  const std::string& fieldName() const { return field_; }
  int64_t lineNumber() const { return line_; }
  const std::string& hintText() const { return hint_; }

  static std::string shapeString(const std::vector<int64_t>& shape);

private:
  Error& rebuild();

  std::string message_, file_, tensor_, field_, expected_, got_, hint_, what_;
  int64_t line_ = -1;
};

}  // namespace fw
