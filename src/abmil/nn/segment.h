// Segment operations: reductions over the instances of each bag of a packed
// batch, given `bag_index` [N] (int64, values in [0, B)). They replace the
// per-bag loops of the reference code: no padding, no K x K matrices, and
// with B = 1 they equal the plain reductions over dim 0.
#pragma once

#include <torch/types.h>

#include <vector>

namespace abmil {

/// Per-bag sum: x [N, ...] -> [B, ...].
torch::Tensor segment_sum(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags);

/// Per-bag mean: x [N, ...] -> [B, ...]. Every bag must hold at least one instance.
torch::Tensor segment_mean(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags);

/// Per-bag elementwise max: x [N, ...] -> [B, ...]; the gradient flows to the
/// arg-max (split evenly among ties, as torch.amax does).
torch::Tensor segment_max(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags);

/// Softmax over the instances of each bag: logits [N] or [N, H] -> same shape,
/// each bag's (and head's) weights sum to 1. Shifted by the per-bag max
/// (detached) for stability, so exp never overflows.
torch::Tensor segment_softmax(const torch::Tensor& logits, const torch::Tensor& bag_index, int64_t num_bags);

/// log(sum_k exp(x_k)) per bag: x [N] -> [B], computed stably.
torch::Tensor segment_logsumexp(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags);

/// The rows of each bag: B int64 tensors [n_b] of row numbers into
/// bag_index (ascending, on bag_index's device), for poolings that work bag by
/// bag (topk_mean, transformer). Bags need not be contiguous.
std::vector<torch::Tensor> segment_rows(const torch::Tensor& bag_index, int64_t num_bags);

/// Number of instances of each bag: [B] float of x's dtype.
torch::Tensor segment_counts(const torch::Tensor& bag_index, int64_t num_bags, torch::ScalarType dtype);

}  // namespace abmil
