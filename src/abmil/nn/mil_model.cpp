#include "abmil/nn/mil_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "abmil/config/config.h"
#include "abmil/nn/segment.h"

namespace abmil {

MilModelImpl::MilModelImpl(const ModelConfig& config, const std::vector<int64_t>& instance_shape,
                           int64_t vocabulary_size, int64_t num_outputs)
    : pooling_name(config.pooling), outputs(num_outputs) {
  if (config.classifier != "linear")
    throw std::invalid_argument("unknown model.classifier '" + config.classifier + "'");
  if (outputs < 1) throw std::invalid_argument("MilModel: outputs must be >= 1, got " + std::to_string(outputs));
  if (outputs > 1 && is_instance_level(config.pooling))
    throw std::invalid_argument("model.pooling " + config.pooling + " scores instances for a binary label only; with " +
                                std::to_string(outputs) + " classes use an embedding-level pooling (gated_attention, "
                                "attention, mean, max)");
  if (config.attention_branches != "1" && config.attention_branches != "per_class")
    throw std::invalid_argument("unknown model.attention_branches '" + config.attention_branches +
                                "' (expected 1 or per_class)");
  const bool branch_pooling = config.pooling == "gated_attention" || config.pooling == "attention";
  const bool attention_pooling = branch_pooling || config.pooling == "multihead_gated_attention";
  if (config.attention_branches == "per_class") {
    if (!branch_pooling)
      throw std::invalid_argument("model.attention_branches per_class needs an attention pooling (gated_attention, "
                                  "attention), not '" + config.pooling + "'");
    branches = std::max<int64_t>(outputs, 2);
  }
  if (config.instance_loss != "none" && config.instance_loss != "ce")
    throw std::invalid_argument("unknown model.instance_loss '" + config.instance_loss + "' (expected none or ce)");
  if (config.instance_loss != "none" && !attention_pooling)
    throw std::invalid_argument("model.instance_loss " + config.instance_loss +
                                " ranks instances by attention: it needs an attention pooling (gated_attention, "
                                "attention, multihead_gated_attention), not '" +
                                config.pooling + "'");
  encoder = register_module("encoder", make_encoder(config, instance_shape, vocabulary_size));
  const int64_t M = encoder->embedding_dim();
  int64_t D = M;  // size of z per branch
  if (!is_instance_level(config.pooling)) {
    PoolingSpec spec;
    spec.name = config.pooling;
    spec.embedding_dim = M;
    spec.attention_dim = config.attention_dim;
    spec.dropout = config.attention_dropout;
    spec.branches = branches;
    spec.heads = config.heads;
    spec.merge = config.merge;
    spec.seeds = config.seeds;
    spec.layers = config.layers;
    spec.lse_r = config.lse_r;
    spec.pool_k = config.pool_k;
    spec.classes = outputs;
    spec.memory_mib = config.transformer_memory_mib;
    pooling = register_module("pooling", make_pooling(spec));
    D = pooling->output_dim(M);
  } else if (config.normalize_embedding) {
    throw std::invalid_argument("model.normalize_embedding needs an embedding-level pooling, not '" + config.pooling +
                                "' (it pools instance scores)");
  }
  if (config.normalize_embedding)
    embedding_scale = register_parameter("embedding_scale", torch::full({1}, std::sqrt(static_cast<double>(D))));
  if (branches == 1) {
    classifier = register_module("classifier", torch::nn::Linear(D, outputs));
  } else {  // C fc M -> 1, initialised as torch.nn.Linear: U(-1/sqrt(M), 1/sqrt(M))
    const double bound = 1.0 / std::sqrt(static_cast<double>(M));
    branch_weight = register_parameter("branch_weight", torch::empty({branches, M}).uniform_(-bound, bound));
    branch_bias = register_parameter("branch_bias", torch::empty({branches}).uniform_(-bound, bound));
  }
  if (config.instance_loss == "ce") {  // K fc M -> 2, initialised as torch.nn.Linear
    const int64_t K = std::max<int64_t>(outputs, 2);
    const double bound = 1.0 / std::sqrt(static_cast<double>(M));
    instance_weight = register_parameter("instance_weight", torch::empty({K, 2, M}).uniform_(-bound, bound));
    instance_bias = register_parameter("instance_bias", torch::empty({K, 2}).uniform_(-bound, bound));
    instance_k = config.instance_k;
    instance_out_of_class = config.instance_out_of_class;
  }
}

torch::Tensor MilModelImpl::instance_clustering_loss(const MilOutput& out, const torch::Tensor& bag_index,
                                                     const torch::Tensor& labels) const {
  if (instance_k <= 0 || !instance_weight.defined() || !out.embeddings.defined() || !out.attention.defined())
    throw std::logic_error("instance_clustering_loss: the model has no instance classifiers (model.instance_loss)");
  const int64_t K = instance_weight.size(0), B = labels.size(0);
  const torch::Tensor counts = torch::bincount(bag_index.cpu(), {}, B);
  const auto* n_of = counts.data_ptr<int64_t>();
  const torch::Tensor y = labels.detach().cpu().to(torch::kLong);
  const torch::Tensor A = (branches > 1 ? out.branch_attention : out.attention.unsqueeze(1)).detach();  // [N, K|1]
  std::vector<torch::Tensor> per_bag;
  int64_t start = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = n_of[b], label = y[b].item<int64_t>();
    if (label < 0 || label >= K)
      throw std::invalid_argument("instance_clustering_loss: bag label " + std::to_string(label) + " outside [0, " +
                                  std::to_string(K) + ")");
    const torch::Tensor H = out.embeddings.narrow(0, start, n);
    const int64_t k = std::min(instance_k, n);
    torch::Tensor sum;
    for (int64_t c = 0; c < K; ++c) {
      if (c != label && !instance_out_of_class) continue;
      const torch::Tensor a = A.narrow(0, start, n).select(1, A.size(1) > 1 ? c : 0);
      torch::Tensor rows = std::get<1>(a.topk(k));  // most attended
      torch::Tensor target = torch::full({k}, c == label ? 1 : 0, torch::kLong);
      if (c == label) {  // in the class: the k least attended are its negatives
        rows = torch::cat({rows, std::get<1>(a.topk(k, 0, /*largest=*/false))});
        target = torch::cat({target, torch::zeros({k}, torch::kLong)});
      }
      const torch::Tensor logits = torch::addmm(instance_bias[c], H.index_select(0, rows), instance_weight[c].t());
      const torch::Tensor term = torch::cross_entropy_loss(logits, target.to(logits.device()));
      sum = sum.defined() ? sum + term : term;
    }
    per_bag.push_back(instance_out_of_class ? sum / static_cast<double>(K) : sum);
    start += n;
  }
  return torch::stack(per_bag).mean();
}

namespace {

/// z / ||z||_2 along the last dimension (torch.nn.functional.normalize, eps 1e-12) times `scale`.
torch::Tensor normalized(const torch::Tensor& z, const torch::Tensor& scale) {
  return z / z.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12) * scale;
}

/// The column of each instance's bag's predicted class: `per_class` [N, C],
/// `predicted` [B] class indices -> [N].
torch::Tensor predicted_column(const torch::Tensor& per_class, const torch::Tensor& predicted,
                               const torch::Tensor& bag_index) {
  return per_class.gather(1, predicted.index_select(0, bag_index).unsqueeze(1)).squeeze(1);
}

/// The bags' predicted classes [B] from bag logits ([B]: P(Y=1) > 0.5; [B, C]: argmax).
torch::Tensor predicted_classes(const torch::Tensor& bag_logits) {
  const torch::Tensor l = bag_logits.detach();
  return l.dim() == 1 ? (l > 0).to(torch::kLong) : l.argmax(1);
}

}  // namespace

MilOutput MilModelImpl::forward_embeddings(const torch::Tensor& H, const torch::Tensor& bag_index, int64_t num_bags) {
  MilOutput out;
  if (instance_k > 0) out.embeddings = H;
  if (pooling && branches > 1) {
    PoolingOutput p = pooling->forward(H, bag_index, num_bags);  // z [B, C, M], attention [N, C]
    out.bag_embedding = p.z.reshape({p.z.size(0), -1});
    if (embedding_scale.defined()) p.z = normalized(p.z, embedding_scale);
    const torch::Tensor logits = (p.z * branch_weight.unsqueeze(0)).sum(2) + branch_bias;  // [B, C]
    out.bag_logits = outputs == 1 ? logits.select(1, 1) - logits.select(1, 0) : logits;
    const torch::Tensor predicted = predicted_classes(out.bag_logits);  // [B] the branch of each bag's class
    out.attention = predicted_column(p.attention, predicted, bag_index);
    out.attention_logits = predicted_column(p.attention_logits, predicted, bag_index);
    out.branch_attention = p.attention;
  } else if (pooling) {
    PoolingOutput p = pooling->forward(H, bag_index, num_bags);
    out.bag_embedding = p.z;
    out.bag_logits = classifier->forward(embedding_scale.defined() ? normalized(p.z, embedding_scale) : p.z);
    if (outputs == 1) out.bag_logits = out.bag_logits.squeeze(1);
    out.head_attention = p.head_attention;
    if (p.attention.defined() && p.attention.dim() == 2) {  // dsmil with C classes: one attention per class
      const torch::Tensor predicted = predicted_classes(out.bag_logits);
      out.branch_attention = p.attention;
      out.attention = predicted_column(p.attention, predicted, bag_index);
      out.attention_logits = predicted_column(p.attention_logits, predicted, bag_index);
    } else {
      out.attention_logits = p.attention_logits;
      out.attention = p.attention;
    }
    if (p.instance_logits.defined()) {  // dsmil's instance stream: s [N, C]
      out.max_instance_logits = segment_max(p.instance_logits, bag_index, num_bags);  // [B, C]
      if (outputs == 1) {
        out.max_instance_logits = out.max_instance_logits.squeeze(1);
        out.instance_logits = p.instance_logits.squeeze(1);
      } else {
        out.instance_logits = predicted_column(p.instance_logits, predicted_classes(out.bag_logits), bag_index);
      }
    }
  } else {
    out.instance_logits = classifier->forward(H).squeeze(1);
    out.bag_logits = pool_instance_logits(out.instance_logits, bag_index, num_bags, pooling_name);
  }
  return out;
}

MilOutput MilModelImpl::forward(const torch::Tensor& instances, const torch::Tensor& bag_index, int64_t num_bags) {
  EncoderOutput e = encoder->encode(instances);
  MilOutput out = forward_embeddings(e.H, bag_index, num_bags);
  out.inner_attention = e.inner_attention;
  return out;
}

}  // namespace abmil
