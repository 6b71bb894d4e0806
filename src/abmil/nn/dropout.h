// Dropout with LibTorch's own random stream, minus its per-element overhead.
#pragma once

#include <torch/types.h>

namespace abmil {

/// Inverted dropout (Srivastava et al., JMLR 2014): in training each element
/// of `x` (any shape) is zeroed with probability `p` and the rest are scaled
/// by 1 / (1 - p); `train == false` or p == 0 returns `x` itself.
///
/// For a float CPU tensor and 0 < p < 1 the result, its gradient and the
/// state of the default CPU generator afterwards are bit for bit those of
/// `torch::dropout(x, p, true)` in LibTorch 1.13 built without MKL (the
/// Debian build): the same mt19937 draws per element, in memory order, as
/// `bernoulli_(1 - p)`, compared with 1 - p exactly as LibTorch does. It
/// tempers the generator's words in bulk and builds the mask without
/// branches instead of LibTorch's serial TensorIterator kernel, whose
/// ~20 ns per element were a third of a feature-bag training step
/// (fc 1024 -> 512 on 8,000 instances). Any other dtype, device or p, and
/// any LibTorch built with MKL (whose bernoulli_ draws from MKL), is passed
/// to torch::dropout. Throws c10::Error where torch::dropout does
/// (p outside [0, 1]).
torch::Tensor dropout(const torch::Tensor& x, double p, bool train);

}  // namespace abmil
