// The process settings every command that runs a model makes first (train,
// cv and its workers, predict, bench): threads, allocator, subnormal floats,
// device.
#pragma once

#include <cstdint>
#include <string>

#include <c10/core/Device.h>

namespace abmil {

/// Prepares the process for training or inference. In this order:
/// - with `flush_denormal`, subnormal floats are flushed to zero (FTZ/DAZ,
///   at::globalContext().setFlushDenormal) before any intra-op thread is
///   started, so the threads inherit it: once a model fits, gradients and
///   Adam's moments turn subnormal and each operation on them takes the CPU's
///   slow path, 2-5x slower epochs (README, "Speed over a whole run");
///   false restores IEEE gradual underflow;
/// - glibc's malloc keeps large tensors on the heap (M_MMAP_MAX = 0, no
///   trimming below 1 GiB): otherwise every tensor over 32 MiB is
///   page-faulted in anew each step, and a 100,000-instance bag steps 1.5x
///   slower than ten 10,000-instance ones (bench/README.md);
/// - LibTorch's intra-op threads are set to `threads` (0 = all cores).
/// Returns the thread count in use.
int configure_runtime(int64_t threads, bool flush_denormal = true);

/// Whether subnormal floats are flushed to zero on the calling thread and on
/// every LibTorch intra-op thread: each divides the smallest normal float by
/// 4 and checks that the result is 0 (not a subnormal).
bool subnormals_flushed();

/// The device of `runtime.device`: "cpu", or "cuda" where this LibTorch has a
/// CUDA device. Throws std::runtime_error "runtime.device: cuda was asked
/// for, but this LibTorch has no CUDA device" otherwise.
c10::Device pick_device(const std::string& name);

}  // namespace abmil
