// DSMIL's dual-stream aggregator (Li, Li & Eliceiri, CVPR 2021; README,
// "Poolings").
#pragma once

#include <torch/nn/modules/linear.h>

#include "abmil/nn/pooling.h"

namespace abmil {

/// DSMIL (Li, Li & Eliceiri 2021, eq. 1-4; the authors' FCLayer + BClassifier
/// with nonlinear queries and V = identity): for C outputs,
///   s_k = W_i h_k + b_i in R^C                 (instance classifier, stream 1)
///   m_c = argmax_k s_kc                         (critical instance per class)
///   q_k = tanh(W_2 relu(W_1 h_k + b_1) + b_2) in R^L
///   a_kc = softmax_k( <q_k, q_{m_c}> / sqrt(L) ),  z_c = sum_k a_kc h_k,
/// z = [z_1; ...; z_C] [B, C M] (the authors' Conv1d(C, C, M) over z is the
/// model's fc C M -> C). PoolingOutput: attention [N] (C = 1) or [N, C];
/// attention_logits the same shape; instance_logits [N, C] = s. The
/// critical instance is chosen without gradient; the gradient reaches
/// q_{m_c} through its row. Ties: the first row of the bag.
class DsmilPoolingImpl : public MilPoolingImpl {
 public:
  /// C = `classes` (the model's outputs: 1 for binary), L = `query_dim`.
  DsmilPoolingImpl(int64_t embedding_dim, int64_t query_dim, int64_t classes, double dropout);
  PoolingOutput forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) override;
  std::string name() const override { return "dsmil"; }
  int64_t output_dim(int64_t embedding_dim) const override { return classes * embedding_dim; }

  int64_t classes, query_dim;
  double dropout;
  torch::nn::Linear instance_classifier{nullptr}, q1{nullptr}, q2{nullptr};
};
TORCH_MODULE(DsmilPooling);

}  // namespace abmil
