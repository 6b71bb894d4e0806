#include "abmil/nn/multihead_projection.h"

#include <torch/nn/init.h>

#include <stdexcept>
#include <string>

namespace abmil {

MultiheadProjectionImpl::MultiheadProjectionImpl(int64_t embedding_dim_, int64_t heads_, const std::string& pooling)
    : embedding_dim(embedding_dim_), heads(heads_) {
  if (heads < 1) throw std::invalid_argument("model.heads must be >= 1, got " + std::to_string(heads));
  if (embedding_dim % heads != 0)
    throw std::invalid_argument("model.heads " + std::to_string(heads) + " does not divide the embedding size M = " +
                                std::to_string(embedding_dim) + " (" + pooling + " splits M across its heads)");
  head_dim = embedding_dim / heads;
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * embedding_dim, embedding_dim}));
  torch::nn::init::xavier_uniform_(in_proj_weight);
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * embedding_dim}));
  out_proj = register_module("out_proj", torch::nn::Linear(embedding_dim, embedding_dim));
  torch::NoGradGuard no_grad;
  out_proj->bias.zero_();
}

torch::Tensor MultiheadProjectionImpl::project(const torch::Tensor& x, int64_t which) const {
  const torch::Tensor W = in_proj_weight.narrow(0, which * embedding_dim, embedding_dim);
  const torch::Tensor b = in_proj_bias.narrow(0, which * embedding_dim, embedding_dim);
  return torch::addmm(b, x, W.t()).view({x.size(0), heads, head_dim}).transpose(0, 1);  // [h, n, d]
}

torch::Tensor MultiheadProjectionImpl::merge(const torch::Tensor& heads_out) {
  const int64_t n = heads_out.size(1);
  return out_proj->forward(heads_out.transpose(0, 1).reshape({n, embedding_dim}));
}

}  // namespace abmil
