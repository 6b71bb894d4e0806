// Smooth-max poolings: cheap baselines between mean and max pooling
// (README, "Poolings"). Both work on packed batches (H [N, M], bag_index [N]).
#pragma once

#include "abmil/nn/pooling.h"

namespace abmil {

/// Log-sum-exp pooling with sharpness r > 0 (Ramon & De Raedt 2000; the
/// "LSE" of Pinheiro & Collobert, CVPR 2015):
///   z_m = (1/r) log( (1/K) sum_k exp(r h_km) ),
/// per embedding dimension m over the K instances of a bag. r -> 0 gives the
/// mean, r -> inf the max. H [N, M] -> z [B, M]; no attention.
class LsePoolingImpl : public MilPoolingImpl {
 public:
  /// Throws std::invalid_argument for r <= 0.
  explicit LsePoolingImpl(double r);
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "lse"; }
  double r;
};
TORCH_MODULE(LsePooling);

/// Top-k mean pooling: z_m = mean of the min(k, K) largest h_km of the bag,
/// per embedding dimension m (k = 1 is max pooling, k >= K the mean). The
/// gradient reaches the selected entries only. H [N, M] -> z [B, M].
class TopKMeanPoolingImpl : public MilPoolingImpl {
 public:
  /// Throws std::invalid_argument for k < 1.
  explicit TopKMeanPoolingImpl(int64_t k);
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "topk_mean"; }
  int64_t k;
};
TORCH_MODULE(TopKMeanPooling);

}  // namespace abmil
