// Uses the installed abmil as a library (tests/consumer/CMakeLists.txt): a
// configuration from YAML text, one random bag, a small attention MIL model,
// its bag probability.
#include <torch/torch.h>

#include <cstdio>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/data/bag.h"
#include "abmil/nn/mil_model.h"

int main() {
  const abmil::Config config = abmil::parse_config(
      "model:\n"
      "  encoder: mlp\n"
      "  hidden_dims: [16, 8]\n"
      "  pooling: gated_attention\n"
      "  attention_dim: 8\n",
      "consumer.yaml");
  torch::manual_seed(0);
  const int64_t instances = 5, features = 12;
  abmil::Bag bag;
  bag.id = 0;
  bag.label = 1;
  for (int64_t k = 0; k < instances; ++k) bag.source_indices.push_back(k);
  const abmil::BagSplit split = abmil::make_split("test", {bag}, torch::randn({instances, features}));
  const abmil::BagBatch batch = abmil::make_batch(split, {0});

  abmil::MilModel model(config.model, std::vector<int64_t>{features});
  model->eval();
  torch::NoGradGuard no_grad;
  const abmil::MilOutput out =
      model->forward(abmil::model_input(split, batch.instances), batch.bag_index, batch.num_bags());
  const double probability = torch::sigmoid(out.bag_logits)[0].item<double>();
  const double attention = out.attention.sum().item<double>();
  std::printf("abmil consumer: %s + %s, %lld instances, attention sum %.4f, bag probability %.6f\n",
              config.model.encoder.c_str(), config.model.pooling.c_str(), static_cast<long long>(instances), attention,
              probability);
  return probability > 0.0 && probability < 1.0 ? 0 : 1;
}
