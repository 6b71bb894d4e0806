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
/// - LibTorch's intra-op threads are set to `threads`; 0 = auto_threads(),
///   the cores other jobs leave idle.
/// Returns the thread count in use.
int configure_runtime(int64_t threads, bool flush_denormal = true);

/// The threads `runtime.threads: 0` gets: idle_cores(cores, the 1-minute
/// load average of getloadavg(3)); all cores when the load is unknown. On
/// the 2-core machine a busy core costs a 2-thread run 11x (README, "Quick
/// start"), so a core another job holds is left to it.
int auto_threads();

/// `cores` minus the cores `load` (a load average, runnable processes) keeps
/// busy, rounded to the nearest; at least 1.
int idle_cores(int cores, double load);

/// Whether subnormal floats are flushed to zero on the calling thread and on
/// every LibTorch intra-op thread: each divides the smallest normal float by
/// 4 and checks that the result is 0 (not a subnormal).
bool subnormals_flushed();

/// The device of `runtime.device`: "cpu", or "cuda" where this LibTorch has a
/// CUDA device. Throws std::runtime_error "runtime.device: cuda was asked
/// for, but this LibTorch has no CUDA device" otherwise.
c10::Device pick_device(const std::string& name);

}  // namespace abmil
