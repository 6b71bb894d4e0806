#include "abmil/train/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "abmil/config/config.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/run_files.h"
#include "abmil/train/trainer.h"

namespace abmil {

nlohmann::json json_number(double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); }

nlohmann::json metrics_json(const ClassificationMetrics& m, double loss) {
  return {{"loss", json_number(loss)},
          {"accuracy", json_number(m.accuracy)},
          {"error", json_number(m.error)},
          {"precision", json_number(m.precision)},
          {"recall", json_number(m.recall)},
          {"f1", json_number(m.f1)},
          {"auc", json_number(m.auc)},
          {"confusion", {{"tp", m.counts.tp}, {"fp", m.counts.fp}, {"tn", m.counts.tn}, {"fn", m.counts.fn}}}};
}

void multiclass_json(const BagPredictions& p, const std::vector<std::string>& classes, nlohmann::json& j) {
  const MulticlassMetrics m = multiclass_metrics(class_probability_rows(p.class_probabilities), p.labels);
  const size_t C = m.class_auc.size();
  auto name = [&](size_t c) { return c < classes.size() ? classes[c] : "class_" + std::to_string(c); };
  nlohmann::json names = nlohmann::json::array(), per_class = nlohmann::json::object();
  for (size_t c = 0; c < C; ++c) {
    names.push_back(name(c));
    per_class[name(c)] = {{"auc", json_number(m.class_auc[c])},
                          {"precision", json_number(m.class_precision[c])},
                          {"recall", json_number(m.class_recall[c])},
                          {"f1", json_number(m.class_f1[c])}};
  }
  j["classes"] = names;
  j["balanced_accuracy"] = json_number(m.balanced_accuracy);
  j["macro_f1"] = json_number(m.macro_f1);
  j["macro_auc"] = json_number(m.macro_auc);
  j["per_class"] = per_class;
  j["confusion_matrix"] = m.confusion;  // rows: true class, columns: predicted class
  j.erase("confusion");                 // the binary counts mean nothing here
}

void multilabel_json(const BagPredictions& p, const std::vector<std::string>& classes, double threshold,
                     nlohmann::json& j) {
  const MultilabelMetrics m =
      multilabel_metrics(class_probability_rows(p.class_probabilities), target_rows(p.targets), threshold);
  auto name = [&](size_t c) { return c < classes.size() ? classes[c] : "label_" + std::to_string(c); };
  nlohmann::json names = nlohmann::json::array(), per_label = nlohmann::json::object();
  for (size_t c = 0; c < m.label_auc.size(); ++c) {
    names.push_back(name(c));
    per_label[name(c)] = {{"auc", json_number(m.label_auc[c])}, {"f1", json_number(m.label_f1[c])}};
  }
  j["labels"] = names;
  j["multi_label"] = true;
  j["exact_match"] = json_number(m.exact_match);
  j["micro_f1"] = json_number(m.micro_f1);
  j["macro_f1"] = json_number(m.macro_f1);
  j["macro_auc"] = json_number(m.macro_auc);
  j["per_label"] = per_label;
  j.erase("confusion");  // the binary counts mean nothing here
}

SplitEvaluation evaluate_and_write(MilModel& model, const BagSplit& split, const Config& config, c10::Device device,
                                   const std::filesystem::path& dir, const std::string& stem) {
  const auto t0 = std::chrono::steady_clock::now();
  BagPredictions p = predict(model, split, config.eval.max_instances_per_pass, device);
  SplitEvaluation e;
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomic(dir / "predictions" / (stem + ".csv"), predictions_csv(split, p, config.data.classes));
  if (config.output.save_attention) {
    write_file_atomic(dir / "attention" / (stem + ".csv"), attention_csv(split, p, config.data.classes));
    if (p.inner_attention.defined())
      write_file_atomic(dir / "attention" / (stem + "_tokens.csv"), token_attention_csv(split, p));
  }
  const auto labelled = std::count_if(split.bags.begin(), split.bags.end(), [](const Bag& b) { return b.label >= 0; });
  e.labelled = labelled == split.num_bags();
  if (!e.labelled) {
    const double nan = std::nan("");
    e.metrics.accuracy = e.metrics.error = e.metrics.precision = e.metrics.recall = e.metrics.f1 = e.metrics.auc = nan;
    e.loss = e.instance_auc = nan;
    e.json = {{"bags", split.num_bags()}, {"labelled_bags", labelled}, {"seconds", e.seconds}};
    return e;
  }
  e.metrics = prediction_metrics(p, config.eval.threshold);
  e.loss = p.loss;
  // Instance metrics score each bag's own class's branch (CLAM-MB), else the one branch.
  // (multi-label: the branch of the highest-scoring label, the model's attention)
  const torch::Tensor weights =
      p.branch_attention.defined() && !p.multi_label ? true_class_branch(split, p.branch_attention) : p.attention;
  e.instance_auc = instance_auc(split, weights);
  e.json = metrics_json(e.metrics, e.loss);
  if (p.multi_label)
    multilabel_json(p, config.data.classes, config.eval.threshold, e.json);
  else if (p.class_probabilities.defined())
    multiclass_json(p, config.data.classes, e.json);
  e.json["instance_auc"] = json_number(e.instance_auc);
  e.json["instance_auc_per_bag"] = json_number(instance_auc_per_bag(split, weights));
  if (p.attention.defined()) {
    const TopKMetrics top = instance_top_k(split, weights, config.eval.top_k);
    e.json["instance_precision_at_k"] = json_number(top.precision);
    e.json["instance_recall_at_k"] = json_number(top.recall);
    e.json["k"] = config.eval.top_k;
  }
  e.json["bags"] = split.num_bags();
  e.json["labelled_bags"] = labelled;
  e.json["seconds"] = e.seconds;
  return e;
}

std::filesystem::path start_run_dir(const Config& config) {
  const std::filesystem::path dir = create_run_dir(config.output.dir, config.experiment.name);
  write_file_atomic(dir / "config.yaml", config_to_yaml(config));
  return dir;
}

}  // namespace abmil
