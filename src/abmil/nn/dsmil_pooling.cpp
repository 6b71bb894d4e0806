#include "abmil/nn/dsmil_pooling.h"

#include <cmath>
#include <vector>

#include "abmil/nn/dropout.h"
#include "abmil/nn/segment.h"

namespace abmil {

DsmilPoolingImpl::DsmilPoolingImpl(int64_t M, int64_t query_dim_, int64_t classes_, double dropout_)
    : classes(classes_), query_dim(query_dim_), dropout(dropout_) {
  instance_classifier = register_module("instance_classifier", torch::nn::Linear(M, classes));
  q1 = register_module("q1", torch::nn::Linear(M, query_dim));
  q2 = register_module("q2", torch::nn::Linear(query_dim, query_dim));
}

PoolingOutput DsmilPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  const int64_t N = H.size(0), C = classes;
  PoolingOutput out;
  out.instance_logits = instance_classifier->forward(H);  // [N, C]
  // m_c per bag: the first row holding the bag's maximum score of class c
  const torch::Tensor s = out.instance_logits.detach();
  const torch::Tensor top = segment_max(s, bag_index, num_bags).index_select(0, bag_index);  // [N, C]
  const torch::Tensor row = torch::arange(N, bag_index.options()).unsqueeze(1).expand({N, C});
  const torch::Tensor candidate = torch::where(s == top, row, torch::full_like(row, N));
  const torch::Tensor critical = torch::full({num_bags, C}, N, bag_index.options())
                                     .scatter_reduce(0, bag_index.unsqueeze(1).expand({N, C}), candidate, "amin",
                                                     /*include_self=*/false);     // [B, C]
  const torch::Tensor q = torch::tanh(q2->forward(torch::relu(q1->forward(H))));  // [N, L]
  const torch::Tensor q_critical = q.index_select(0, critical.reshape({-1})).view({num_bags, C, query_dim});
  const double scale = 1.0 / std::sqrt(static_cast<double>(query_dim));
  std::vector<torch::Tensor> scores;
  for (int64_t c = 0; c < C; ++c)  // <q_k, q_{m_c}> per instance, one [N, L] product at a time
    scores.push_back((q * q_critical.select(1, c).index_select(0, bag_index)).sum(1) * scale);
  const torch::Tensor logits = torch::stack(scores, 1);                  // [N, C]
  const torch::Tensor a = segment_softmax(logits, bag_index, num_bags);  // [N, C]
  const torch::Tensor a_used = dropout > 0 && is_training() ? abmil::dropout(a, dropout, true) : a;
  std::vector<torch::Tensor> z;
  for (int64_t c = 0; c < C; ++c) z.push_back(segment_sum(a_used.select(1, c).unsqueeze(1) * H, bag_index, num_bags));
  out.z = torch::cat(z, 1);  // [B, C M]
  out.attention = C == 1 ? a.squeeze(1) : a;
  out.attention_logits = C == 1 ? logits.squeeze(1) : logits;
  return out;
}

}  // namespace abmil
