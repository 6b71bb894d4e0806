#include "abmil/nn/pma_pooling.h"

#include <torch/nn/init.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "abmil/nn/dropout.h"
#include "abmil/nn/segment.h"

namespace abmil {

PmaPoolingImpl::PmaPoolingImpl(int64_t embedding_dim, int64_t heads, int64_t seeds_, const std::string& merge,
                               double dropout_)
    : seeds(seeds_), concat(merge == "concat"), dropout(dropout_) {
  if (seeds < 1) throw std::invalid_argument("model.seeds must be >= 1, got " + std::to_string(seeds));
  if (merge != "concat" && merge != "mean")
    throw std::invalid_argument("unknown model.merge '" + merge + "' (expected concat or mean)");
  S = register_parameter("S", torch::empty({seeds, embedding_dim}));
  torch::nn::init::xavier_uniform_(S);
  rff = register_module("rff", torch::nn::Linear(embedding_dim, embedding_dim));
  mha = register_module("mha", MultiheadProjection(embedding_dim, heads, "pma"));
  ln0 = register_module("ln0", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embedding_dim})));
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embedding_dim})));
  fc_o = register_module("fc_o", torch::nn::Linear(embedding_dim, embedding_dim));
}

PoolingOutput PmaPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  const int64_t N = H.size(0), h = mha->heads, d = mha->head_dim, M = mha->embedding_dim;
  const torch::Tensor Y = torch::relu(rff->forward(H));                                                // rFF(X) [N, M]
  const torch::Tensor Q = mha->project(S, 0);                                                          // [h, k, d]
  const torch::Tensor K = mha->project(Y, 1), V = mha->project(Y, 2);                                  // [h, N, d]
  const torch::Tensor s = torch::matmul(K, Q.transpose(1, 2)).div(std::sqrt(static_cast<double>(d)));  // [h, N, k]
  const torch::Tensor scores = s.permute({1, 0, 2}).reshape({N, h * seeds});
  const torch::Tensor a = segment_softmax(scores, bag_index, num_bags).view({N, h, seeds});  // per (head, seed)
  const torch::Tensor a_used = dropout > 0 && is_training() ? abmil::dropout(a, dropout, true) : a;
  std::vector<torch::Tensor> heads_out;        // per seed: [B, M], heads concatenated
  const torch::Tensor Vn = V.transpose(0, 1);  // [N, h, d]
  for (int64_t j = 0; j < seeds; ++j)
    heads_out.push_back(segment_sum((a_used.select(2, j).unsqueeze(2) * Vn).reshape({N, M}), bag_index, num_bags));
  const torch::Tensor O = torch::stack(heads_out, 1);  // [B, k, M]
  const torch::Tensor attended = mha->out_proj->forward(O);
  const torch::Tensor Hs = ln0->forward(S.unsqueeze(0) + attended);           // H = LN(S + Multihead(S, Y, Y))
  const torch::Tensor Z = ln1->forward(Hs + torch::relu(fc_o->forward(Hs)));  // LN(H + rFF(H)) [B, k, M]
  PoolingOutput out;
  out.z = concat ? Z.reshape({Z.size(0), seeds * M}) : Z.mean(1);
  out.head_attention = a.mean(1);  // [N, k]
  out.attention = out.head_attention.mean(1);
  out.attention_logits = s.mean(torch::IntArrayRef{0, 2});
  return out;
}

}  // namespace abmil
