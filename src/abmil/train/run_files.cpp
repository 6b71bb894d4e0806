#include "abmil/train/run_files.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

#include "abmil/data/bag.h"
#include "abmil/train/trainer.h"

namespace abmil {

namespace {

/// `{:.6f}` of a metric, empty for NaN (undefined AUC).
std::string num(double v) { return std::isnan(v) ? "" : fmt::format("{:.6f}", v); }

/// A bag label cell: "0", "1", or empty when unknown.
std::string label_cell(int label) { return label < 0 ? std::string() : std::to_string(label); }

/// The bag's name as a CSV cell (its id when it has none): double-quoted,
/// with " doubled, when it holds a comma, a quote or surrounding blanks
/// (read_csv's `quoted` mode reads it back).
std::string name_cell(const Bag& bag) {
  const std::string& name = bag.name.empty() ? std::to_string(bag.id) : bag.name;
  const bool plain = name.find_first_of(",\"\n\r") == std::string::npos && name.front() != ' ' &&
                     name.front() != '\t' && name.back() != ' ' && name.back() != '\t';
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string metrics_csv(const std::vector<EpochLog>& history) {
  std::string out = "epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds\n";
  for (const EpochLog& e : history) {
    const auto& m = e.metrics;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{:.3f}\n", e.epoch, e.split, num(e.loss), num(m.accuracy),
                       num(m.error), num(m.precision), num(m.recall), num(m.f1), num(m.auc), e.seconds);
  }
  return out;
}

std::string predictions_csv(const BagSplit& split, const BagPredictions& p, const std::vector<std::string>& classes) {
  std::string out = "bag_id,bag_name,bag_label,bag_probability,instances";
  torch::Tensor cp;
  auto class_name = [&](int64_t c) {
    return c < static_cast<int64_t>(classes.size()) ? classes[c] : fmt::format("class_{}", c);
  };
  if (p.multi_label) {  // labels / predicted_labels: `;`-joined names; p_<label>: its sigmoid
    cp = p.class_probabilities.to(torch::kCPU, torch::kDouble).contiguous();
    out += ",labels,predicted_labels";
    for (int64_t c = 0; c < cp.size(1); ++c) out += ",p_" + class_name(c);
    out += "\n";
    for (int64_t b = 0; b < split.num_bags(); ++b) {
      const Bag& bag = split.bags[b];
      std::string truth, predicted;
      const double* row = cp.data_ptr<double>() + b * cp.size(1);
      for (int64_t c = 0; c < cp.size(1); ++c) {
        if (c < static_cast<int64_t>(bag.targets.size()) && bag.targets[c] > 0.5)
          truth += (truth.empty() ? "" : ";") + class_name(c);
        if (row[c] >= 0.5) predicted += (predicted.empty() ? "" : ";") + class_name(c);
      }
      out += fmt::format("{},{},{},{:.8g},{},{},{}", bag.id, name_cell(bag), label_cell(bag.label),
                         p.probabilities[b], bag.size(), truth, predicted);
      for (int64_t c = 0; c < cp.size(1); ++c) out += fmt::format(",{:.8g}", row[c]);
      out += "\n";
    }
    return out;
  }
  if (p.class_probabilities.defined()) {
    cp = p.class_probabilities.to(torch::kCPU, torch::kDouble).contiguous();
    out += ",predicted_label";
    for (int64_t c = 0; c < cp.size(1); ++c)
      out += ",p_" + (c < static_cast<int64_t>(classes.size()) ? classes[c] : fmt::format("class_{}", c));
  }
  out += "\n";
  for (int64_t b = 0; b < split.num_bags(); ++b) {
    out += fmt::format("{},{},{},{:.8g},{}", split.bags[b].id, name_cell(split.bags[b]),
                       label_cell(split.bags[b].label), p.probabilities[b], split.bags[b].size());
    if (cp.defined()) {
      const double* row = cp.data_ptr<double>() + b * cp.size(1);
      out += fmt::format(",{}", std::max_element(row, row + cp.size(1)) - row);
      for (int64_t c = 0; c < cp.size(1); ++c) out += fmt::format(",{:.8g}", row[c]);
    }
    out += "\n";
  }
  return out;
}

std::string bag_name_cell(const Bag& bag) { return name_cell(bag); }

std::string attention_csv(const BagSplit& split, const BagPredictions& p, const std::vector<std::string>& classes) {
  std::string out =
      "bag_id,bag_name,instance_index,source_index,instance_label,attention_weight,attention_logit,"
      "instance_probability,bag_label,bag_probability,x,y";
  torch::Tensor branches;  // [N_total, C] float64
  if (p.branch_attention.defined()) {
    branches = p.branch_attention.to(torch::kCPU, torch::kDouble).contiguous();
    for (int64_t c = 0; c < branches.size(1); ++c)
      out += ",attention_" + (c < static_cast<int64_t>(classes.size()) ? classes[c] : fmt::format("branch_{}", c));
  }
  torch::Tensor heads;  // [N_total, h] float64: multihead_gated_attention's heads, pma's seeds
  if (p.head_attention.defined()) {
    heads = p.head_attention.to(torch::kCPU, torch::kDouble).contiguous();
    for (int64_t j = 0; j < heads.size(1); ++j) out += fmt::format(",attention_{}{}", p.head_column, j);
  }
  out += "\n";
  auto column = [](const torch::Tensor& t) {
    return t.defined() ? t.to(torch::kCPU, torch::kDouble).contiguous() : torch::Tensor();
  };
  const torch::Tensor a = column(p.attention), s = column(p.attention_logits), q = column(p.instance_probabilities);
  auto cell = [](const torch::Tensor& t, int64_t row) {
    return t.defined() ? fmt::format("{:.8g}", t.data_ptr<double>()[row]) : std::string();
  };
  for (int64_t b = 0; b < split.num_bags(); ++b) {
    const Bag& bag = split.bags[b];
    const std::string name = name_cell(bag);
    // [n, 2] (x, y) of the bag's file rows, indexed by source index; undefined when unknown
    torch::Tensor xy = split.reader ? split.reader->coords(bag) : torch::Tensor();
    if (xy.defined()) xy = xy.to(torch::kLong).contiguous();
    for (int64_t k = 0; k < bag.size(); ++k) {
      const int64_t row = split.offsets[b] + k;
      const int y = k < static_cast<int64_t>(bag.instance_labels.size()) ? bag.instance_labels[k] : -1;
      out += fmt::format("{},{},{},{},{},{},{},{},{},{:.8g},", bag.id, name, k, bag.source_indices[k], label_cell(y),
                         cell(a, row), cell(s, row), cell(q, row), label_cell(bag.label), p.probabilities[b]);
      const int64_t source = bag.source_indices[k];
      if (xy.defined() && source >= 0 && source < xy.size(0))
        out += fmt::format("{},{}", xy.data_ptr<int64_t>()[2 * source], xy.data_ptr<int64_t>()[2 * source + 1]);
      else
        out += ",";
      if (branches.defined())
        for (int64_t c = 0; c < branches.size(1); ++c)
          out += fmt::format(",{:.8g}", branches.data_ptr<double>()[row * branches.size(1) + c]);
      if (heads.defined())
        for (int64_t j = 0; j < heads.size(1); ++j)
          out += fmt::format(",{:.8g}", heads.data_ptr<double>()[row * heads.size(1) + j]);
      out += "\n";
    }
  }
  return out;
}

std::string token_attention_csv(const BagSplit& split, const BagPredictions& p) {
  if (!p.inner_attention.defined())
    throw std::invalid_argument("token_attention_csv: the model has no inner attention");
  const torch::Tensor w = p.inner_attention.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor ids = split.instances.to(torch::kLong).contiguous();
  const int64_t T = w.size(1);
  const double* wp = w.data_ptr<double>();
  const int64_t* ip = ids.data_ptr<int64_t>();
  std::string out = "bag_id,instance_index,token_index,token_id,attention_weight\n";
  for (int64_t b = 0; b < split.num_bags(); ++b)
    for (int64_t k = 0; k < split.bags[b].size(); ++k) {
      const int64_t row = split.offsets[b] + k;
      for (int64_t t = 0; t < T; ++t)
        if (ip[row * T + t] != 0)
          out += fmt::format("{},{},{},{},{:.6g}\n", split.bags[b].id, k, t, ip[row * T + t], wp[row * T + t]);
    }
  return out;
}

}  // namespace abmil
