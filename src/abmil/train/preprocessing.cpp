#include "abmil/train/preprocessing.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/io/run_dir.h"

namespace abmil {

namespace {

nlohmann::json tensor_json(const torch::Tensor& t) {
  if (!t.defined()) return nullptr;
  const torch::Tensor d = t.to(torch::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

}  // namespace

std::string preprocessing_json(const Config& config, const MilData& data) {
  nlohmann::json j;
  j["data_kind"] = config.data.kind;
  j["pixel_mean"] = config.data.pixel_mean;
  j["pixel_std"] = config.data.pixel_std;
  j["feature_mean"] = tensor_json(data.feature_mean);
  j["feature_std"] = tensor_json(data.feature_std);
  return j.dump(2) + "\n";
}

Preprocessing read_preprocessing(const std::filesystem::path& run_dir, const Config& trained, DataConfig* data) {
  const std::filesystem::path file = run_dir / "preprocessing.json";
  Preprocessing prep;
  data->pixel_mean = trained.data.pixel_mean;
  data->pixel_std = trained.data.pixel_std;
  if (!std::filesystem::is_regular_file(file)) {
    if (trained.data.kind == "feature_bags" && trained.data.standardize)
      throw std::runtime_error(file.string() +
                               ": missing; the run was trained before abmil saved its feature standardisation "
                               "statistics, so new bags cannot be scaled as its training bags were; train the run "
                               "again with this abmil");
    return prep;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
    data->pixel_mean = j.at("pixel_mean").get<double>();
    data->pixel_std = j.at("pixel_std").get<double>();
    const auto& mean = j.at("feature_mean");
    const auto& std = j.at("feature_std");
    if (!mean.is_null()) {
      const auto m = mean.get<std::vector<double>>(), s = std.get<std::vector<double>>();
      if (m.size() != s.size() || m.empty()) throw std::runtime_error("feature_mean and feature_std differ in length");
      prep.feature_mean = torch::tensor(m, torch::kDouble);
      prep.feature_std = torch::tensor(s, torch::kDouble);
      if (!(prep.feature_std > 0).all().item<bool>()) throw std::runtime_error("feature_std must be > 0");
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  return prep;
}

}  // namespace abmil
