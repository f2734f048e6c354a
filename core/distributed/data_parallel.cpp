#include "distributed/data_parallel.h"

#include "util/error.h"

#include <torch/version.h>

#if !defined(FW_NO_GLOO) && defined(USE_C10D_GLOO)
#define FW_HAS_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// NCCL's own header ships beside pip's torch (nvidia-nccl), not inside its include folder.
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define FW_HAS_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <cstring>
#include <thread>

namespace fw::dist {

namespace {

int envInt(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi)
    throw Error("the environment variable " + std::string(name) + " is '" + v + "'")
        .expected("a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  return int(x);
}

// The first line of an exception's message (c10d's and Gloo's append their C++ stack traces).
std::string firstLine(const std::exception& e) {
  std::string msg = e.what();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  return msg;
}

// Runs a collective and turns c10d's and Gloo's exceptions into one message that names the
// group: what a user sees when a rank died, hung past the timeout or could not connect.
template <typename F>
void collective(const char* what, const WorkerEnv& env, std::chrono::milliseconds timeout, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    const std::string msg = firstLine(e);
    throw Error("rank " + std::to_string(env.rank) + " of " + std::to_string(env.worldSize) + ": " + what +
                " failed: " + msg)
        .hint("another rank died, hung for longer than the timeout (" + std::to_string(timeout.count() / 1000) +
              " s) or cannot be reached; its log says why. The run resumes from its last checkpoint");
  }
}

// Until `key` is in the store, or `wait` passes. Polled: TCPStore::wait (and get, which waits)
// took about 0.4 s to return, which a checkpoint every step paid in waitForLead.
void waitForKey(c10d::Store& store, const std::string& key, std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (!store.check({key})) {
    if (std::chrono::steady_clock::now() > until)
      throw Error("rank 0 did not get there within " + std::to_string(wait.count() / 1000) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

WorkerEnv workerEnvFromEnvironment() {
  WorkerEnv w;
  w.worldSize = envInt("WORLD_SIZE", 1, 1, 1 << 20);
  // Without RANK every worker would be rank 0: each would host the store, or wait for the others.
  if (const char* r = std::getenv("RANK"); w.worldSize > 1 && (!r || !*r))
    throw Error("the environment variable WORLD_SIZE is " + std::to_string(w.worldSize) + " but RANK is not set")
        .hint("each worker needs its own RANK (0 to WORLD_SIZE-1), as torchrun sets it; or start the workers with "
              "fourierft train --nproc N");
  w.rank = envInt("RANK", 0, 0, w.worldSize - 1);
  w.localWorldSize = envInt("LOCAL_WORLD_SIZE", w.worldSize, 1, w.worldSize);
  w.localRank = envInt("LOCAL_RANK", 0, 0, w.localWorldSize - 1);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) w.masterAddr = a;
  w.masterPort = envInt("MASTER_PORT", 29500, 1, 65535);
  return w;
}

struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  // Gloo and NCCL groups are c10d::Backend objects in LibTorch 2.x, ProcessGroups in 1.13: the
  // collectives used here (allreduce, allgather) have the same signatures on both.
#if TORCH_VERSION_MAJOR >= 2
  c10::intrusive_ptr<c10d::Backend> group;
#else
  c10::intrusive_ptr<c10d::ProcessGroup> group;
#endif
  c10::Device device = c10::Device(c10::kCPU);
};

DataParallel::DataParallel(const WorkerEnv& env, std::chrono::milliseconds timeout, const c10::Device& device)
    : impl_(std::make_unique<Impl>()), env_(env), timeout_(timeout) {
  impl_->device = device;
  const std::string where = env.masterAddr + ":" + std::to_string(env.masterPort);
  // Under torchrun (static rendezvous) its agent already hosts the store on MASTER_PORT: every
  // rank joins it as a client, under the attempt's prefix, as PyTorch's _create_c10d_store does.
  const char* agentStore = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const bool useAgentStore = agentStore && std::string(agentStore) == "True";
  try {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(env.masterPort);
    so.isServer = env.rank == 0 && !useAgentStore;
    so.numWorkers = size_t(env.worldSize);
    so.waitWorkers = !useAgentStore;
    so.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, so);
    if (useAgentStore) {
      const char* attempt = std::getenv("TORCHELASTIC_RESTART_COUNT");
      impl_->store = c10::make_intrusive<c10d::PrefixStore>(
          std::string("/worker/attempt_") + (attempt && *attempt ? attempt : "0"), impl_->store);
    }
  } catch (const std::exception& e) {
    const std::string msg = firstLine(e);
    throw Error("rank " + std::to_string(env.rank) + " could not join the group at " + where + ": " + msg)
        .hint(env.rank == 0 ? "the port may be in use (another run?): choose another with --master ADDR:PORT"
                            : "is rank 0 running, and is " + where + " reachable from here?");
  }
  auto store = c10::make_intrusive<c10d::PrefixStore>("fourierft", impl_->store);
#ifdef FW_HAS_NCCL
  if (device.is_cuda()) {
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = timeout;
    impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.worldSize, o);
    return;
  }
#endif
  if (!device.is_cpu())
    throw Error("data-parallel training on " + device.str() + " needs LibTorch with NCCL; this one has Gloo (CPU) only")
        .field("device");
#ifndef FW_HAS_GLOO
  throw Error("this build of fourierft has no Gloo (CPU data-parallel training)")
      .hint("install libgloo-dev and rebuild, or train in one process");
#else
  auto o = c10d::ProcessGroupGloo::Options::create(timeout);
  // GLOO_SOCKET_IFNAME (comma-separated interfaces) as PyTorch honours it: a machine whose host
  // name resolves to a loopback address (127.0.1.1 on Debian) is otherwise unreachable from others.
  const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME");
  const bool loopback = env.masterAddr == "127.0.0.1" || env.masterAddr == "localhost";
  if (ifnames && *ifnames) {
    std::string list = ifnames;
    for (size_t start = 0; start <= list.size();) {
      const size_t comma = std::min(list.find(',', start), list.size());
      const std::string name = list.substr(start, comma - start);
      start = comma + 1;
      if (name.empty()) continue;
      try {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } catch (const std::exception& e) {
        const std::string msg = firstLine(e);
        throw Error("rank " + std::to_string(env.rank) + ": the network interface '" + name +
                    "' named by the environment variable GLOO_SOCKET_IFNAME cannot be used: " + msg)
            .hint("name an interface this machine has (ip -brief address lists them), or unset GLOO_SOCKET_IFNAME");
      }
    }
  }
  if (o->devices.empty())
    o->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                  : c10d::ProcessGroupGloo::createDefaultDevice());
  o->threads = 2;
  collective("joining the Gloo group", env_, timeout_, [&] {
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.worldSize, o);
  });
#endif
}

DataParallel::~DataParallel() = default;

void DataParallel::averageGradients(const std::vector<at::Tensor>& params) {
  if (params.empty()) return;
  std::vector<at::Tensor> flat;
  flat.reserve(params.size());
  for (const auto& p : params)
    flat.push_back(p.grad().defined() ? p.grad().detach().to(at::kFloat).reshape({-1})
                                      : at::zeros({p.numel()}, p.options().dtype(at::kFloat)));
  std::vector<at::Tensor> buffer{at::cat(flat)};
  collective("averaging gradients", env_, timeout_, [&] { impl_->group->allreduce(buffer)->wait(timeout_); });
  bytes_ += buffer[0].numel() * int64_t(sizeof(float));
  buffer[0].div_(double(env_.worldSize));
  int64_t offset = 0;
  for (const auto& p : params) {
    const int64_t n = p.numel();
    auto slice = buffer[0].narrow(0, offset, n).view(p.sizes()).to(p.scalar_type());
    if (p.grad().defined()) p.mutable_grad().copy_(slice);
    else p.mutable_grad() = slice.clone();
    offset += n;
  }
}

std::vector<double> DataParallel::sum(const std::vector<double>& values, bool training) {
  auto t = at::tensor(at::ArrayRef<double>(values), at::kDouble).to(impl_->device);
  std::vector<at::Tensor> buffer{t};
  collective("summing the loss", env_, timeout_, [&] { impl_->group->allreduce(buffer)->wait(timeout_); });
  if (training) bytes_ += int64_t(values.size() * sizeof(double));
  auto cpu = buffer[0].to(at::kCPU).contiguous();
  return std::vector<double>(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
}

std::vector<double> DataParallel::gather(const std::vector<double>& values) {
  const auto dopts = at::TensorOptions(at::kDouble).device(impl_->device);
  const auto lopts = at::TensorOptions(at::kLong).device(impl_->device);
  // Lengths first, then every rank's values padded to the longest.
  std::vector<at::Tensor> mine{at::full({1}, int64_t(values.size()), lopts)};
  std::vector<std::vector<at::Tensor>> sizes(1);
  for (int r = 0; r < env_.worldSize; ++r) sizes[0].push_back(at::empty({1}, lopts));
  collective("gathering evaluation results", env_, timeout_, [&] { impl_->group->allgather(sizes, mine)->wait(timeout_); });
  std::vector<int64_t> lengths;
  int64_t longest = 0;
  for (const auto& t : sizes[0]) {
    lengths.push_back(t.item<int64_t>());
    longest = std::max(longest, lengths.back());
  }
  auto padded = at::zeros({std::max<int64_t>(longest, 1)}, at::kDouble);
  if (!values.empty()) padded.narrow(0, 0, int64_t(values.size())).copy_(at::tensor(at::ArrayRef<double>(values), at::kDouble));
  std::vector<at::Tensor> send{padded.to(impl_->device)};
  std::vector<std::vector<at::Tensor>> all(1);
  for (int r = 0; r < env_.worldSize; ++r) all[0].push_back(at::empty({padded.size(0)}, dopts));
  collective("gathering evaluation results", env_, timeout_, [&] { impl_->group->allgather(all, send)->wait(timeout_); });
  std::vector<double> out;
  for (int r = 0; r < env_.worldSize; ++r) {
    auto c = all[0][size_t(r)].to(at::kCPU).contiguous();
    out.insert(out.end(), c.data_ptr<double>(), c.data_ptr<double>() + lengths[size_t(r)]);
  }
  return out;
}

void DataParallel::checkSame(const std::string& what, uint64_t fp) {
  auto opts = at::TensorOptions(at::kLong).device(impl_->device);
  std::vector<at::Tensor> mine{at::full({1}, int64_t(fp), opts)};
  std::vector<std::vector<at::Tensor>> all(1);
  for (int r = 0; r < env_.worldSize; ++r) all[0].push_back(at::empty({1}, opts));
  collective(("comparing " + what).c_str(), env_, timeout_, [&] { impl_->group->allgather(all, mine)->wait(timeout_); });
  std::string differ;
  const int64_t lead = all[0][0].item<int64_t>();
  for (int r = 1; r < env_.worldSize; ++r)
    if (all[0][size_t(r)].item<int64_t>() != lead) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (!differ.empty())
    throw Error("the ranks do not start from the same " + what + ": rank " + differ + " differ" +
                (differ.find(',') == std::string::npos ? "s" : "") + " from rank 0")
        .hint("every machine needs the same base checkpoint, experiment file and program version");
}

std::string DataParallel::shareFromLead(const std::string& key, const std::string& value,
                                        std::chrono::milliseconds wait) {
  std::string out;
  collective(("sharing " + key).c_str(), env_, timeout_, [&] {
    if (env_.rank == 0) {
      impl_->store->set("share/" + key, std::vector<uint8_t>(value.begin(), value.end()));
      out = value;
    } else {
      waitForKey(*impl_->store, "share/" + key, wait);
      auto bytes = impl_->store->get("share/" + key);  // get waits too (0.4 s): fine for a one-off value
      out.assign(bytes.begin(), bytes.end());
    }
  });
  return out;
}

void DataParallel::waitForLead(const std::string& key, std::chrono::milliseconds wait) {
  collective(("waiting for rank 0 (" + key + ")").c_str(), env_, timeout_, [&] {
    if (env_.rank == 0) impl_->store->set("done/" + key, std::vector<uint8_t>{1});
    else waitForKey(*impl_->store, "done/" + key, wait);
  });
  sum({0.0}, /*training=*/false);
}

uint64_t fingerprint(const std::string& text, uint64_t h) {
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

uint64_t fingerprint(const std::vector<at::Tensor>& tensors, uint64_t h) {
  for (const auto& t : tensors) {
    auto c = t.detach().to(at::kCPU).contiguous();
    const auto* p = static_cast<const unsigned char*>(c.data_ptr());
    const size_t n = size_t(c.numel()) * c.element_size();
    // 8 bytes at a time: FNV over words is as good a check here and 8 times faster.
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = (h ^ w) * 1099511628211ull;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    h = fingerprint(std::string(c.toString()), h);
  }
  return h;
}

}  // namespace fw::dist
