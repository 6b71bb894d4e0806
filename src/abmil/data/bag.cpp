#include "abmil/data/bag.h"

#include <stdexcept>

namespace abmil {

torch::Tensor model_input(const BagSplit& split, const torch::Tensor& stored) {
  if (stored.scalar_type() == torch::kFloat || stored.scalar_type() == torch::kLong) return stored;
  if (stored.scalar_type() == torch::kUInt8)
    return stored.to(torch::kFloat).mul_(1.0 / (255.0 * split.pixel_std)).sub_(split.pixel_mean / split.pixel_std);
  throw std::invalid_argument("model_input: instances of split '" + split.name + "' are " +
                              std::string(c10::toString(stored.scalar_type())) + ", not float32, uint8 or int64");
}

torch::Tensor bag_instances(const BagSplit& split, int64_t p) {
  if (p < 0 || p >= split.num_bags())
    throw std::out_of_range("bag position " + std::to_string(p) + " outside split '" + split.name + "'");
  if (split.streamed()) return split.reader->read(split.bags[p]);
  const int64_t begin = split.offsets[p], end = split.offsets[p + 1];
  return split.instances.narrow(0, begin, end - begin);
}

BagSplit make_split(std::string name, std::vector<Bag> bags, const torch::Tensor& instance_rows) {
  BagSplit split;
  split.name = std::move(name);
  split.offsets.reserve(bags.size() + 1);
  split.offsets.push_back(0);
  std::vector<int64_t> rows;
  for (const Bag& bag : bags) {
    for (int64_t s : bag.source_indices) {
      if (s < 0 || s >= instance_rows.size(0))
        throw std::out_of_range("make_split: source index " + std::to_string(s) + " outside [0, " +
                                std::to_string(instance_rows.size(0)) + ")");
      rows.push_back(s);
    }
    split.offsets.push_back(static_cast<int64_t>(rows.size()));
  }
  split.instances = instance_rows.index_select(0, torch::tensor(rows, torch::kLong)).contiguous();
  split.bags = std::move(bags);
  return split;
}

BagBatch make_batch(const BagSplit& split, const std::vector<int64_t>& positions) {
  BagBatch batch;
  batch.positions = positions;
  const int64_t B = static_cast<int64_t>(positions.size());
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> bag_index;
  std::vector<float> labels;
  parts.reserve(B);
  labels.reserve(B);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p = positions[b];
    if (p < 0 || p >= split.num_bags())
      throw std::out_of_range("make_batch: bag position " + std::to_string(p) + " outside split '" + split.name + "'");
    const int64_t begin = split.offsets[p], end = split.offsets[p + 1];
    parts.push_back(bag_instances(split, p));
    bag_index.insert(bag_index.end(), end - begin, b);
    const Bag& bag = split.bags[p];
    if (bag.targets.empty())
      labels.push_back(static_cast<float>(bag.label));
    else
      labels.insert(labels.end(), bag.targets.begin(), bag.targets.end());
  }
  batch.instances = B == 1 ? parts[0] : torch::cat(parts, 0);
  batch.bag_index = torch::tensor(bag_index, torch::kLong);
  batch.labels = torch::tensor(labels, torch::kFloat);
  if (B > 0 && !split.bags[positions[0]].targets.empty()) {  // multi-label: [B, C]
    const int64_t C = static_cast<int64_t>(split.bags[positions[0]].targets.size());
    if (batch.labels.numel() != B * C)
      throw std::invalid_argument("make_batch: multi-label bags of split '" + split.name + "' differ in labels");
    batch.labels = batch.labels.view({B, C});
  }
  return batch;
}

BagSplit select_bags(const BagSplit& split, const std::vector<int64_t>& positions, std::string name) {
  BagSplit out;
  out.name = std::move(name);
  out.pixel_mean = split.pixel_mean;
  out.pixel_std = split.pixel_std;
  out.reader = split.reader;
  out.offsets.push_back(0);
  std::vector<torch::Tensor> parts;
  for (int64_t p : positions) {
    if (p < 0 || p >= split.num_bags())
      throw std::out_of_range("select_bags: bag position " + std::to_string(p) + " outside split '" + split.name + "'");
    const int64_t begin = split.offsets[p], end = split.offsets[p + 1];
    if (!split.streamed()) parts.push_back(split.instances.narrow(0, begin, end - begin));
    out.bags.push_back(split.bags[p]);
    out.offsets.push_back(out.offsets.back() + (end - begin));
  }
  if (!split.streamed())
    out.instances = parts.empty() ? split.instances.narrow(0, 0, 0).clone() : torch::cat(parts, 0);
  return out;
}

}  // namespace abmil
