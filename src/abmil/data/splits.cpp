#include "abmil/data/splits.h"

#include "abmil/config/config.h"
#include "abmil/data/errors.h"
#include "abmil/data/folds.h"

namespace abmil {

void require_labels(const std::vector<int>& labels, const std::vector<std::string>& names, const std::string& source) {
  for (size_t b = 0; b < labels.size(); ++b)
    if (labels[b] < 0)
      throw DataError(source + ": bag '" + (b < names.size() && !names[b].empty() ? names[b] : std::to_string(b)) +
                      "' has no label; training needs a 0 or 1 label on every bag (`abmil predict` scores "
                      "unlabelled ones)");
}

HeldOutPositions hold_out_positions(const std::vector<int>& labels, const std::vector<std::string>& names,
                                    const DataConfig& data, uint64_t seed, const std::string& source) {
  require_labels(labels, names, source);
  std::vector<int64_t> positions(labels.size());
  for (size_t b = 0; b < labels.size(); ++b) positions[b] = static_cast<int64_t>(b);
  auto [train_pos, test_pos] = stratified_split(positions, labels, data.test_fraction, seed);
  if (test_pos.empty())  // else a run would end with metrics of zero test bags
    throw DataError(source + ": " + std::to_string(labels.size()) +
                    " bag(s), too few to hold out test bags (a label needs at least 2 bags)");
  auto [fit_pos, val_pos] = stratified_split(train_pos, labels, data.validation_fraction, seed + 1);
  return {std::move(fit_pos), std::move(val_pos), std::move(test_pos)};
}

MilData hold_out_test_and_validation(const BagSplit& all, const DataConfig& data, uint64_t seed,
                                     const std::string& source) {
  const HeldOutPositions held = hold_out_positions(bag_labels(all), bag_names(all), data, seed, source);
  MilData out;
  out.train = select_bags(all, held.train, "train");
  out.validation = select_bags(all, held.validation, "validation");
  out.test = select_bags(all, held.test, "test");
  return out;
}

std::vector<int> bag_labels(const BagSplit& split) {
  std::vector<int> labels;
  labels.reserve(split.bags.size());
  for (const Bag& bag : split.bags) labels.push_back(bag.label);
  return labels;
}

std::vector<std::string> bag_names(const BagSplit& split) {
  std::vector<std::string> names;
  names.reserve(split.bags.size());
  for (const Bag& bag : split.bags) names.push_back(bag.name);
  return names;
}

}  // namespace abmil
