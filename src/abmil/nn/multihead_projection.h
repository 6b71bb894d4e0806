// The weights of one torch.nn.MultiheadAttention (Vaswani et al. 2017,
// "Multi-head attention"), shared by the pma and transformer poolings.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace abmil {

/// torch.nn.MultiheadAttention's parameters, with its names and init:
/// in_proj_weight [3M, M] (rows: W_q, W_k, W_v; Xavier-uniform),
/// in_proj_bias [3M] (0), out_proj fc M -> M (bias 0). h heads of d = M / h.
class MultiheadProjectionImpl : public torch::nn::Module {
 public:
  /// Throws std::invalid_argument naming `pooling` when h does not divide M or h < 1.
  MultiheadProjectionImpl(int64_t embedding_dim, int64_t heads, const std::string& pooling);
  /// x [n, M] -> [h, n, d]: the part `which` (0 = q, 1 = k, 2 = v) of the input projection, split into heads.
  torch::Tensor project(const torch::Tensor& x, int64_t which) const;
  /// [h, n, d] -> out_proj of the heads concatenated: [n, M].
  torch::Tensor merge(const torch::Tensor& heads_out);

  int64_t embedding_dim, heads, head_dim;
  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(MultiheadProjection);

}  // namespace abmil
