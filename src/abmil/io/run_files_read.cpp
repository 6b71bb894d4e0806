#include "abmil/io/run_files_read.h"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace abmil {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_run_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  return out.str();
}

std::vector<MetricsCsvRow> read_metrics_csv(const fs::path& path) {
  const CsvTable t = read_csv(path);
  const size_t epoch = t.column("epoch"), split = t.column("split"), loss = t.column("loss"), auc = t.column("auc");
  std::vector<MetricsCsvRow> rows;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    for (size_t c = 0; c < t.header.size(); ++c)
      if (c != split) t.number(r, c);  // validates every numeric cell
    MetricsCsvRow row;
    row.epoch = t.number(r, epoch);
    if (std::isnan(row.epoch)) throw t.error(r, "empty epoch");
    row.split = t.rows[r][split];
    row.loss = t.number(r, loss);
    row.auc = t.number(r, auc);
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

// The bag score of data row `r` of `t` (columns `label` and `prob`); throws for an empty label.
BagScore bag_score(const CsvTable& t, size_t r, size_t label, size_t prob) {
  const int y = t.class_label(r, label);
  if (y < 0) throw t.error(r, "empty bag_label");
  return {y, t.number(r, prob)};
}

}  // namespace

std::vector<BagScore> read_predictions_csv(const fs::path& path) {
  const CsvTable t = read_csv(path, /*quoted=*/true);
  const size_t label = t.column("bag_label"), prob = t.column("bag_probability");
  std::vector<BagScore> bags;
  for (size_t r = 0; r < t.rows.size(); ++r) bags.push_back(bag_score(t, r, label, prob));
  return bags;
}

std::vector<BagScore> attention_bag_scores(const CsvTable& t) {
  const size_t id = t.column("bag_id"), label = t.column("bag_label"), prob = t.column("bag_probability");
  std::vector<BagScore> bags;
  std::map<std::string, size_t> seen;
  for (size_t r = 0; r < t.rows.size(); ++r)
    if (seen.emplace(t.rows[r][id], bags.size()).second) bags.push_back(bag_score(t, r, label, prob));
  return bags;
}

InstanceWeights attention_weights_by_label(const CsvTable& t) {
  InstanceWeights w;
  const auto weight = t.find_column("attention_weight"), label = t.find_column("instance_label");
  if (!weight || !label) return w;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const double a = t.number(r, *weight);
    const int y = t.label(r, *label);
    if (std::isnan(a) || y < 0) continue;
    (y == 1 ? w.positive : w.negative).push_back(a);
  }
  return w;
}

json read_metrics_json(const fs::path& path) {
  json j;
  try {
    j = json::parse(read_run_file(path));
  } catch (const json::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  if (!j.is_object()) throw std::runtime_error(path.string() + ": expected a JSON object");
  return j;
}

const json* json_object_member(const json& obj, const char* key, const fs::path& file) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!it->is_object()) throw std::runtime_error(file.string() + ": '" + key + "' is not an object");
  return &*it;
}

std::optional<double> json_number_member(const json* obj, const char* key, const fs::path& file) {
  if (obj == nullptr) return std::nullopt;
  const auto it = obj->find(key);
  if (it == obj->end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw std::runtime_error(file.string() + ": '" + key + "' is not a number");
  return it->get<double>();
}

}  // namespace abmil
