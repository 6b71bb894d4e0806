#include "abmil/train/runtime.h"

#include <malloc.h>

#include <ATen/Parallel.h>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <thread>

namespace abmil {

int idle_cores(int cores, double load) {
  const int busy = static_cast<int>(std::lround(std::max(0.0, load)));
  return std::max(1, cores - busy);
}

int auto_threads() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double load[1] = {0};
  if (::getloadavg(load, 1) != 1) return cores;
  return idle_cores(cores, load[0]);
}

int configure_runtime(int64_t threads, bool flush_denormal) {
  // First: threads started later inherit the calling thread's FTZ/DAZ bits.
  at::globalContext().setFlushDenormal(flush_denormal);
  ::mallopt(M_MMAP_MAX, 0);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  const int n = threads > 0 ? static_cast<int>(threads) : auto_threads();
  torch::set_num_threads(n);
  // And on every intra-op thread already running (one chunk per thread).
  at::parallel_for(0, n, 1,
                   [flush_denormal](int64_t, int64_t) { at::globalContext().setFlushDenormal(flush_denormal); });
  return n;
}

namespace {

/// FLT_MIN / 4 is subnormal under IEEE rules and 0 when flushed.
bool flushed_here() {
  volatile float tiny = std::numeric_limits<float>::min();
  volatile float quarter = tiny / 4.0f;
  return quarter == 0.0f;
}

}  // namespace

bool subnormals_flushed() {
  std::atomic<bool> all{flushed_here()};
  const int64_t n = at::get_num_threads();
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      if (!flushed_here()) all = false;
  });
  return all;
}

c10::Device pick_device(const std::string& name) {
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("runtime.device: cuda was asked for, but this LibTorch has no CUDA device");
    return c10::Device(c10::kCUDA);
  }
  return c10::Device(c10::kCPU);
}

}  // namespace abmil
