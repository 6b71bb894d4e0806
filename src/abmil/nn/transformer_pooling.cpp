#include "abmil/nn/transformer_pooling.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "abmil/nn/dropout.h"
#include "abmil/nn/segment.h"

namespace abmil {

TransformerLayerImpl::TransformerLayerImpl(int64_t M, int64_t heads, double dropout_) : dropout(dropout_) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({M})));
  self_attn = register_module("self_attn", MultiheadProjection(M, heads, "transformer"));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({M})));
  linear1 = register_module("linear1", torch::nn::Linear(M, 2 * M));
  linear2 = register_module("linear2", torch::nn::Linear(2 * M, M));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& x, bool cls_only, torch::Tensor* cls_attention,
                                            torch::Tensor* cls_scores) {
  const torch::Tensor y = norm1->forward(x);
  const double scale = 1.0 / std::sqrt(static_cast<double>(self_attn->head_dim));
  const torch::Tensor q = self_attn->project(cls_only ? y.narrow(0, 0, 1) : y, 0) * scale;  // [h, q, d]
  const torch::Tensor k = self_attn->project(y, 1), v = self_attn->project(y, 2);           // [h, n, d]
  const torch::Tensor s = torch::matmul(q, k.transpose(1, 2));                              // [h, q, n]
  const torch::Tensor a = torch::softmax(s, 2);
  if (cls_attention) *cls_attention = a.select(1, 0);
  if (cls_scores) *cls_scores = s.select(1, 0);
  const torch::Tensor a_used = dropout > 0 && is_training() ? abmil::dropout(a, dropout, true) : a;
  torch::Tensor out = (cls_only ? x.narrow(0, 0, 1) : x) + self_attn->merge(torch::matmul(a_used, v));
  return out + linear2->forward(torch::relu(linear1->forward(norm2->forward(out))));
}

int64_t transformer_max_instances(int64_t heads, int64_t layers, double memory_mib) {
  if (layers <= 1) return std::numeric_limits<int64_t>::max();
  const double bytes = memory_mib * 1024.0 * 1024.0;
  const double per_square = 24.0 * static_cast<double>(heads) * static_cast<double>(layers - 1);
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(std::sqrt(bytes / per_square))) - 1);
}

TransformerPoolingImpl::TransformerPoolingImpl(int64_t M, int64_t heads, int64_t n_layers, double dropout,
                                               double memory_mib_)
    : memory_mib(memory_mib_) {
  if (n_layers < 1) throw std::invalid_argument("model.layers must be >= 1, got " + std::to_string(n_layers));
  cls = register_parameter("cls", torch::randn({1, M}));
  for (int64_t l = 0; l < n_layers; ++l)
    layers.push_back(register_module("layer" + std::to_string(l), TransformerLayer(M, heads, dropout)));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({M})));
  max_instances = transformer_max_instances(heads, n_layers, memory_mib);
}

PoolingOutput TransformerPoolingImpl::forward(const torch::Tensor& H, const torch::Tensor& bag_index,
                                              int64_t num_bags) {
  const int64_t N = H.size(0);
  std::vector<torch::Tensor> z;
  torch::Tensor weights = torch::empty({N}, H.options()), logits = torch::empty({N}, H.options());
  std::vector<torch::Tensor> weight_parts, logit_parts, row_parts;
  for (const torch::Tensor& rows : segment_rows(bag_index, num_bags)) {
    const int64_t n = rows.size(0);
    if (n > max_instances)
      throw std::invalid_argument(fmt::format(
          "model.pooling transformer: a bag of {} instances is over its limit of {} (exact self-attention with "
          "model.heads {} and model.layers {} in model.transformer_memory_mib {}); use model.layers 1, raise "
          "model.transformer_memory_mib, or a pooling without the K^2 term (gated_attention, pma, dsmil)",
          n, max_instances, layers[0]->self_attn->heads, layers.size(), memory_mib));
    torch::Tensor x = torch::cat({cls, num_bags == 1 ? H : H.index_select(0, rows)});  // [n + 1, M]
    for (size_t l = 0; l + 1 < layers.size(); ++l) x = layers[l]->forward(x);
    torch::Tensor a, s;  // [h, n + 1]
    x = layers.back()->forward(x, /*cls_only=*/true, &a, &s);
    z.push_back(norm->forward(x).squeeze(0));
    const torch::Tensor w = a.mean(0).narrow(0, 1, n);
    weight_parts.push_back(w / w.sum());
    logit_parts.push_back(s.mean(0).narrow(0, 1, n));
    row_parts.push_back(rows);
  }
  PoolingOutput out;
  out.z = torch::stack(z);
  const torch::Tensor all_rows = torch::cat(row_parts);
  out.attention = weights.index_put({all_rows}, torch::cat(weight_parts));
  out.attention_logits = logits.index_put({all_rows}, torch::cat(logit_parts));
  return out;
}

}  // namespace abmil
