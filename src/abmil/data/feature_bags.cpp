#include "abmil/data/feature_bags.h"

#include <stdexcept>
#include <tuple>

#include "abmil/config/config.h"
#include "abmil/data/feature_csv.h"
#include "abmil/data/splits.h"

namespace abmil {

BagSplit feature_table_split(const FeatureTable& table) {
  std::vector<Bag> bags(table.num_bags());
  for (int64_t b = 0; b < table.num_bags(); ++b) {
    bags[b].id = b;
    bags[b].label = table.bag_labels[b];
    bags[b].name = table.bag_ids[b];
    for (int64_t r = table.offsets[b]; r < table.offsets[b + 1]; ++r) bags[b].source_indices.push_back(r);
    bags[b].instance_labels.assign(bags[b].source_indices.size(), -1);
  }
  const torch::Tensor rows =
      torch::from_blob(const_cast<float*>(table.features.data()), {table.num_rows(), table.dim}, torch::kFloat);
  return make_split("all", std::move(bags), rows);  // copies the rows
}

std::pair<torch::Tensor, torch::Tensor> standardize(const BagSplit& fit_on, const std::vector<BagSplit*>& targets) {
  const torch::Tensor x = fit_on.instances.to(torch::kDouble);
  const torch::Tensor mean = x.mean(0);
  torch::Tensor std = x.std(0, /*unbiased=*/false);
  std = torch::where(std > 0, std, torch::ones_like(std));
  apply_standardization(targets, mean, std);
  return {mean, std};
}

void apply_standardization(const std::vector<BagSplit*>& targets, const torch::Tensor& mean, const torch::Tensor& std) {
  for (BagSplit* s : targets) {
    if (s->instances.dim() != 2 || s->instances.size(1) != mean.numel() || std.numel() != mean.numel())
      throw std::invalid_argument("apply_standardization: " + std::to_string(mean.numel()) +
                                  " statistics for instances of another width");
    s->instances = ((s->instances.to(torch::kDouble) - mean) / std).to(torch::kFloat).contiguous();
  }
}

MilData load_feature_bags(const DataConfig& data, uint64_t seed) {
  if (data.path.empty()) throw std::invalid_argument("data.path: feature_bags needs the CSV file");
  const FeatureTable table = read_feature_csv(data.path);
  const BagSplit all = feature_table_split(table);
  MilData out = hold_out_test_and_validation(all, data, seed, data.path);
  if (data.standardize)
    std::tie(out.feature_mean, out.feature_std) = standardize(out.train, {&out.train, &out.validation, &out.test});
  out.instance_shape = {table.dim};
  out.summary = "feature_bags from " + data.path + ": " + std::to_string(table.num_bags()) + " bags, " +
                std::to_string(table.num_rows()) + " instances of " + std::to_string(table.dim) + " features; train " +
                std::to_string(out.train.num_bags()) + ", validation " + std::to_string(out.validation.num_bags()) +
                ", test " + std::to_string(out.test.num_bags());
  return out;
}

}  // namespace abmil
