#include "io/safetensors.h"

#include "io/atomic_file.h"
#include "util/error.h"
#include "util/json_depth.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fw::io {

namespace {

struct DtypeRow {
  StDtype dtype;
  const char* name;
  size_t size;
  at::ScalarType aten;  // what tensor() returns
  bool native;          // bytes are already in that ATen type
};

// The dtype table of the safetensors format (whole-byte types).
const DtypeRow kDtypes[] = {
    {StDtype::BOOL, "BOOL", 1, at::kBool, true},
    {StDtype::U8, "U8", 1, at::kByte, true},
    {StDtype::I8, "I8", 1, at::kChar, true},
    {StDtype::I16, "I16", 2, at::kShort, true},
    {StDtype::U16, "U16", 2, at::kInt, false},
    {StDtype::F16, "F16", 2, at::kHalf, true},
    {StDtype::BF16, "BF16", 2, at::kBFloat16, true},
    {StDtype::I32, "I32", 4, at::kInt, true},
    {StDtype::U32, "U32", 4, at::kLong, false},
    {StDtype::F32, "F32", 4, at::kFloat, true},
    {StDtype::F64, "F64", 8, at::kDouble, true},
    {StDtype::I64, "I64", 8, at::kLong, true},
    {StDtype::U64, "U64", 8, at::kLong, false},
    {StDtype::F8_E4M3, "F8_E4M3", 1, at::kFloat, false},
    {StDtype::F8_E5M2, "F8_E5M2", 1, at::kFloat, false},
    {StDtype::F8_E8M0, "F8_E8M0", 1, at::kFloat, false},
    {StDtype::C64, "C64", 8, at::kComplexFloat, true},
};

const DtypeRow& row(StDtype d) {
  for (const auto& r : kDtypes)
    if (r.dtype == d) return r;
  throw Error("unknown safetensors dtype");
}

constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit on the JSON header

// 8-bit floats, decoded to float32 (LibTorch 1.13 has no 8-bit float type).
float decodeE4M3(uint8_t b) {  // OCP E4M3FN: bias 7, no infinities, S.1111.111 is NaN
  int s = b >> 7, e = (b >> 3) & 0xF, m = b & 0x7;
  if (e == 0xF && m == 0x7) return std::numeric_limits<float>::quiet_NaN();
  float v = e == 0 ? std::ldexp(m / 8.0f, -6) : std::ldexp(1.0f + m / 8.0f, e - 7);
  return s ? -v : v;
}
float decodeE5M2(uint8_t b) {  // IEEE-like: bias 15, with infinities and NaN
  int s = b >> 7, e = (b >> 2) & 0x1F, m = b & 0x3;
  float v;
  if (e == 0x1F) v = m ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else v = e == 0 ? std::ldexp(m / 4.0f, -14) : std::ldexp(1.0f + m / 4.0f, e - 15);
  return s ? -v : v;
}
float decodeE8M0(uint8_t b) {  // exponent only, bias 127, 0xFF is NaN
  return b == 0xFF ? std::numeric_limits<float>::quiet_NaN() : std::ldexp(1.0f, int(b) - 127);
}

template <typename From, typename To>
void widen(const uint8_t* src, To* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    From v;
    std::memcpy(&v, src + i * sizeof(From), sizeof(From));
    dst[i] = static_cast<To>(v);
  }
}

}  // namespace

const char* dtypeName(StDtype d) { return row(d).name; }
size_t dtypeSize(StDtype d) { return row(d).size; }
at::ScalarType atenType(StDtype d) { return row(d).aten; }

StDtype dtypeFromAten(at::ScalarType t) {
  for (const auto& r : kDtypes)
    if (r.native && r.aten == t) return r.dtype;
  throw Error(std::string("no safetensors dtype for ATen type ") + c10::toString(t));
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

struct SafetensorsFile::Mapping {
  void* addr = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (addr != MAP_FAILED && size) munmap(addr, size);
  }
};

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(std::string("cannot open safetensors file: ") + std::strerror(errno)).file(path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("not a regular file").file(path);
  }
  const uint64_t fileSize = static_cast<uint64_t>(st.st_size);
  if (fileSize < 8) {
    ::close(fd);
    throw Error("file too short for a safetensors header").file(path)
        .expected("at least 8 bytes").got(std::to_string(fileSize) + " bytes")
        .hint("the file is truncated or not a safetensors file");
  }
  f.map_ = std::make_shared<Mapping>();
  f.map_->size = fileSize;
  // Private and writable: a tensor changed in place copies its pages, the file never changes.
  f.map_->addr = mmap(nullptr, fileSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int mapErr = errno;
  ::close(fd);
  if (f.map_->addr == MAP_FAILED) throw Error(std::string("cannot map file: ") + std::strerror(mapErr)).file(path);
  const auto* bytes = static_cast<const uint8_t*>(f.map_->addr);

  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[i];
  if (headerLen > kMaxHeader)
    throw Error("safetensors header too large").file(path)
        .expected("at most " + std::to_string(kMaxHeader) + " bytes").got(std::to_string(headerLen) + " bytes")
        .hint("the file is corrupt or not a safetensors file");
  if (headerLen > fileSize - 8)
    throw Error("safetensors header runs past the end of the file").file(path)
        .expected(std::to_string(headerLen) + " header bytes").got(std::to_string(fileSize - 8) + " bytes left")
        .hint("the file is truncated");
  const uint64_t dataSize = fileSize - 8 - headerLen;
  f.data_ = bytes + 8 + headerLen;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + headerLen);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("safetensors header is not valid JSON: ") + e.what()).file(path);
  }
  if (jsonDeeperThan(header)) throw Error("safetensors header: " + jsonTooDeepReason()).file(path).hint("the file is corrupt");
  if (!header.is_object()) throw Error("safetensors header is not a JSON object").file(path);

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error("__metadata__ is not an object").file(path).field("__metadata__");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw Error("metadata values must be strings").file(path).field("__metadata__." + m.key());
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return Error(what).file(path).tensor(name); };
    if (!v.is_object()) throw bad("entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw bad("missing or non-string 'dtype'");
    if (!v.contains("shape") || !v["shape"].is_array()) throw bad("missing or non-array 'shape'");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw bad("'data_offsets' must be an array of two integers");

    TensorInfo t;
    t.name = name;
    const auto dt = v["dtype"].get<std::string>();
    const DtypeRow* found = nullptr;
    for (const auto& r : kDtypes)
      if (dt == r.name) found = &r;
    if (!found) {
      throw bad("unsupported dtype '" + dt + "'")
          .hint(dt == "F4" || dt.rfind("F6", 0) == 0 ? "sub-byte float types are not supported"
                                                      : "not a dtype of the safetensors format");
    }
    t.dtype = found->dtype;

    // Element count with overflow checks: the header decides how much we trust the offsets.
    unsigned __int128 count = 1;
    for (const auto& s : v["shape"]) {
      if (!s.is_number_unsigned()) throw bad("shape entries must be non-negative integers");
      uint64_t d = s.get<uint64_t>();
      if (d > uint64_t(std::numeric_limits<int64_t>::max())) throw bad("shape entry too large");
      t.shape.push_back(static_cast<int64_t>(d));
      count *= d;
      if (count > dataSize) count = (unsigned __int128)dataSize + 1;  // clamp; checked below
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) throw bad("data_offsets must be non-negative integers");
    t.begin = v["data_offsets"][0].get<uint64_t>();
    t.end = v["data_offsets"][1].get<uint64_t>();
    if (t.begin > t.end) throw bad("data_offsets are reversed").got("[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]");
    if (t.end > dataSize)
      throw bad("data_offsets point past the end of the file")
          .expected("end <= " + std::to_string(dataSize)).got(std::to_string(t.end))
          .hint("the file is truncated");
    const unsigned __int128 wantBytes = count * found->size;
    if (wantBytes != t.end - t.begin) {
      std::string want = count > dataSize ? std::string("more than the file holds") : std::to_string((uint64_t)wantBytes);
      throw bad("byte span disagrees with dtype and shape")
          .expected(want + " bytes (" + dt + " " + Error::shapeString(t.shape) + ")")
          .got(std::to_string(t.end - t.begin) + " bytes");
    }
    f.tensors_.push_back(std::move(t));
  }

  // Tensors must tile the data section: no overlaps, no holes, nothing left over.
  std::vector<const TensorInfo*> order;
  for (const auto& t : f.tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  for (const auto* t : order) {
    if (t->begin < cursor)
      throw Error("tensor overlaps the previous tensor's bytes").file(path).tensor(t->name)
          .expected("begin >= " + std::to_string(cursor)).got(std::to_string(t->begin));
    if (t->begin > cursor)
      throw Error("hole in the data section before tensor").file(path).tensor(t->name)
          .expected("begin = " + std::to_string(cursor)).got(std::to_string(t->begin));
    cursor = t->end;
  }
  if (cursor != dataSize)
    throw Error("data section has bytes that belong to no tensor").file(path)
        .expected(std::to_string(cursor) + " bytes").got(std::to_string(dataSize) + " bytes");

  // File order, as written.
  std::sort(f.tensors_.begin(), f.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.name < b.name;
  });
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_[f.tensors_[i].name] = i;
  return f;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error("no such tensor in file").file(path_).tensor(name);
  return tensors_[it->second];
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& t = info(name);
  const DtypeRow& r = row(t.dtype);
  const uint8_t* src = data_ + t.begin;
  const int64_t n = t.numel();
  if (r.native) {
    if (n == 0) return at::empty(t.shape, at::TensorOptions().dtype(r.aten));
    if (reinterpret_cast<uintptr_t>(src) % r.size == 0) {
      auto keep = map_;
      return at::from_blob(const_cast<uint8_t*>(src), t.shape, [keep](void*) {},
                           at::TensorOptions().dtype(r.aten));
    }
    auto out = at::empty(t.shape, at::TensorOptions().dtype(r.aten));
    std::memcpy(out.data_ptr(), src, t.end - t.begin);
    return out;
  }
  auto out = at::empty(t.shape, at::TensorOptions().dtype(r.aten));
  switch (t.dtype) {
    case StDtype::U16: widen<uint16_t>(src, out.data_ptr<int32_t>(), n); break;
    case StDtype::U32: widen<uint32_t>(src, out.data_ptr<int64_t>(), n); break;
    case StDtype::U64: {
      auto* dst = out.data_ptr<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        uint64_t v;
        std::memcpy(&v, src + i * 8, 8);
        if (v > uint64_t(std::numeric_limits<int64_t>::max()))
          throw Error("U64 value does not fit in int64").file(path_).tensor(name);
        dst[i] = static_cast<int64_t>(v);
      }
      break;
    }
    case StDtype::F8_E4M3: { auto* d = out.data_ptr<float>(); for (int64_t i = 0; i < n; ++i) d[i] = decodeE4M3(src[i]); break; }
    case StDtype::F8_E5M2: { auto* d = out.data_ptr<float>(); for (int64_t i = 0; i < n; ++i) d[i] = decodeE5M2(src[i]); break; }
    case StDtype::F8_E8M0: { auto* d = out.data_ptr<float>(); for (int64_t i = 0; i < n; ++i) d[i] = decodeE8M0(src[i]); break; }
    default: throw Error("internal: unhandled dtype").file(path_).tensor(name);
  }
  return out;
}

void saveSafetensors(const std::string& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> cpu;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw Error("'__metadata__' is reserved and cannot name a tensor").file(path);
    if (header.contains(name)) throw Error("duplicate tensor name").file(path).tensor(name);
    auto c = t.detach().to(at::kCPU).contiguous();
    StDtype dt;
    try {
      dt = dtypeFromAten(c.scalar_type());
    } catch (Error& e) {
      throw e.file(path).tensor(name);
    }
    const uint64_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", dtypeName(dt)}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    cpu.push_back(c);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t((uint64_t(json.size()) >> (8 * i)) & 0xFF);

  AtomicFile out(path);
  out.write(len, 8);
  out.write(json);
  for (const auto& c : cpu) out.write(c.data_ptr(), c.numel() * c.element_size());
  out.commit();
}

NamedTensors loadSafetensors(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  NamedTensors out;
  for (const auto& t : f.tensors()) out.emplace_back(t.name, f.tensor(t.name));
  return out;
}

}  // namespace fw::io
