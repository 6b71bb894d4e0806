#include "abmil/train/run.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "abmil/config/config.h"
#include "abmil/data/feature_bags.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/data/text_bags.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/checkpoint.h"
#include "abmil/train/run_files.h"
#include "abmil/train/trainer.h"

namespace abmil {

namespace {

nlohmann::json metrics_json(const ClassificationMetrics& m, double loss) {
  auto v = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  return {{"loss", v(loss)}, {"accuracy", v(m.accuracy)}, {"error", v(m.error)}, {"precision", v(m.precision)},
          {"recall", v(m.recall)}, {"f1", v(m.f1)}, {"auc", v(m.auc)},
          {"confusion", {{"tp", m.counts.tp}, {"fp", m.counts.fp}, {"tn", m.counts.tn}, {"fn", m.counts.fn}}}};
}

torch::Device pick_device(const std::string& name) {
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("runtime.device: cuda was asked for, but this LibTorch has no CUDA device");
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

/// Test-split results of a trained model, as written by evaluate_and_write.
struct SplitEvaluation {
  ClassificationMetrics metrics;
  double loss = 0, instance_auc = 0, seconds = 0;
  nlohmann::json json;  ///< the "test" object of metrics.json
};

/// Predicts every bag of `split`, writes predictions/<name>.csv and (when
/// output.save_attention) attention/<name>.csv under `dir`, and computes the
/// bag metrics and the instance-level attention metrics.
SplitEvaluation evaluate_and_write(MilModel& model, const BagSplit& split, const Config& config,
                                   torch::Device device, const std::filesystem::path& dir) {
  const auto t0 = std::chrono::steady_clock::now();
  BagPredictions p = predict(model, split, config.eval.max_instances_per_pass, device);
  SplitEvaluation e;
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  e.metrics = classification_metrics(p.probabilities, p.labels, config.eval.threshold);
  e.loss = p.loss;
  e.instance_auc = instance_auc(split, p.attention);
  e.json = metrics_json(e.metrics, e.loss);
  auto v = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  e.json["instance_auc"] = v(e.instance_auc);
  if (p.attention.defined()) {
    const TopKMetrics top = instance_top_k(split, p.attention, config.eval.top_k);
    e.json["instance_precision_at_k"] = v(top.precision);
    e.json["instance_recall_at_k"] = v(top.recall);
    e.json["k"] = config.eval.top_k;
  }
  e.json["bags"] = split.num_bags();
  e.json["seconds"] = e.seconds;
  write_file_atomic(dir / "predictions" / (split.name + ".csv"), predictions_csv(split, p));
  if (config.output.save_attention) {
    write_file_atomic(dir / "attention" / (split.name + ".csv"), attention_csv(split, p));
    if (p.inner_attention.defined())
      write_file_atomic(dir / "attention" / (split.name + "_tokens.csv"), token_attention_csv(split, p));
  }
  return e;
}

bool want_progress(const std::string& mode) {
  return mode == "always" || (mode == "auto" && ::isatty(STDERR_FILENO));
}

std::string epoch_line(const EpochLog& t, const EpochLog* v, int64_t epochs) {
  std::string line = fmt::format("epoch {:>3}/{}  train loss {:.4f} acc {:.3f} auc {:.3f}", t.epoch, epochs, t.loss,
                                 t.metrics.accuracy, t.metrics.auc);
  if (v) line += fmt::format("  | val loss {:.4f} acc {:.3f} auc {:.3f}", v->loss, v->metrics.accuracy, v->metrics.auc);
  return line + fmt::format("  | {:.1f} s", t.seconds + (v ? v->seconds : 0.0));
}

}  // namespace

int configure_runtime(int64_t threads) {
  ::mallopt(M_MMAP_MAX, 0);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  const int n = threads > 0 ? static_cast<int>(threads) : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  return n;
}

RunSummary run_train(const Config& config, std::ostream& log, const std::filesystem::path& resume_dir) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const int threads = configure_runtime(config.runtime.threads);
  const torch::Device device = pick_device(config.runtime.device);

  MilData data = load_data(config.data, static_cast<uint64_t>(config.experiment.seed));
  log << data.summary << "\n";

  // The model first: a model that cannot take the data fails before a run directory is made.
  torch::manual_seed(static_cast<uint64_t>(config.experiment.seed));
  MilModel model(config.model, data.instance_shape, static_cast<int64_t>(data.vocabulary.size()));
  model->to(device);

  RunSummary summary;
  if (resume_dir.empty()) {
    summary.run_dir = create_run_dir(config.output.dir, config.experiment.name);
    write_file_atomic(summary.run_dir / "config.yaml", config_to_yaml(config));
    if (!data.vocabulary.empty())  // text_bags: the token ids of the model's embedding table
      write_file_atomic(summary.run_dir / "vocabulary.txt", Vocabulary::from_tokens(data.vocabulary).to_text());
  } else {
    summary.run_dir = resume_dir;
  }
  log << fmt::format("run directory {} | {} threads | device {}\n", summary.run_dir.string(), threads,
                     config.runtime.device);

  FitOptions options;
  options.on_epoch = [&](const EpochLog& t, const EpochLog* v) {
    log << epoch_line(t, v, config.train.epochs) << std::endl;
  };
  options.show_progress = want_progress(config.runtime.progress);
  std::optional<TrainState> start;
  if (!resume_dir.empty()) {
    start = load_latest_checkpoint(summary.run_dir, log);
    if (start)
      log << fmt::format("resuming after epoch {} (best epoch {})\n", start->epoch, start->best_epoch);
    else
      log << "no usable checkpoint: training from the start\n";
    if (start) options.resume = &*start;
  }
  std::string last_checkpoint = start ? fmt::format("epoch {}", start->epoch) : "none";
  if (config.output.save_checkpoint)
    options.on_checkpoint = [&](const TrainState& state) {
      write_checkpoint(summary.run_dir, state);
      last_checkpoint = fmt::format("epoch {}", state.epoch);
    };
  TrainResult trained;
  try {
    trained = fit(model, data, config, device, options);
  } catch (const TrainingDiverged& e) {
    throw TrainingDiverged(fmt::format("{}; last good checkpoint: {} ({})", e.what(), last_checkpoint,
                                       (summary.run_dir / "checkpoints").string()));
  }
  write_file_atomic(summary.run_dir / "metrics.csv", metrics_csv(trained.history));
  if (config.output.save_checkpoint) {
    std::ostringstream archive;
    torch::save(model, archive);
    write_file_atomic(summary.run_dir / "checkpoints" / "best.pt", archive.str());
  }

  const SplitEvaluation test = evaluate_and_write(model, data.test, config, device, summary.run_dir);
  summary.test = test.metrics;
  summary.test_loss = test.loss;
  summary.instance_auc = test.instance_auc;
  trained.history.push_back({trained.best_epoch, "test", test.loss, summary.test, test.seconds});
  write_file_atomic(summary.run_dir / "metrics.csv", metrics_csv(trained.history));

  summary.best_epoch = trained.best_epoch;
  summary.epochs_run = trained.epochs_run;
  summary.train_seconds = trained.train_seconds;
  summary.total_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  nlohmann::json j;
  j["test"] = test.json;
  j["training"] = {{"best_epoch", summary.best_epoch}, {"epochs_run", summary.epochs_run},
                   {"stopped_early", trained.stopped_early}, {"seconds", summary.train_seconds},
                   {"threads", threads}};
  j["seconds_total"] = summary.total_seconds;
  write_file_atomic(summary.run_dir / "metrics.json", j.dump(2) + "\n");
  return summary;
}

std::filesystem::path run_predict(const std::filesystem::path& run_dir, const Config& data_config,
                                  const std::string& output_dir, std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  const Config trained = load_config((run_dir / "config.yaml").string());
  const std::filesystem::path checkpoint = run_dir / "checkpoints" / "best.pt";
  if (!std::filesystem::is_regular_file(checkpoint))
    throw std::runtime_error(checkpoint.string() + ": no checkpoint (was the run trained with output.save_checkpoint?)");
  configure_runtime(data_config.runtime.threads);
  const torch::Device device = pick_device(data_config.runtime.device);
  MilData data;
  if (data_config.data.kind == "text_bags") {  // the token ids of the trained model, not a new vocabulary
    const std::filesystem::path vocabulary = run_dir / "vocabulary.txt";
    if (!std::filesystem::is_regular_file(vocabulary))
      throw std::runtime_error(vocabulary.string() + ": missing (a text_bags run saves its vocabulary there)");
    const Vocabulary fixed = Vocabulary::from_text(read_file(vocabulary), vocabulary.string());
    data = load_text_bags(data_config.data, static_cast<uint64_t>(data_config.experiment.seed), &fixed);
  } else {
    data = load_data(data_config.data, static_cast<uint64_t>(data_config.experiment.seed));
  }
  log << data.summary << "\n";
  MilModel model(trained.model, data.instance_shape, static_cast<int64_t>(data.vocabulary.size()));
  try {
    torch::load(model, checkpoint.string());
  } catch (const c10::Error& e) {
    throw std::runtime_error(checkpoint.string() + ": cannot load the checkpoint into the model of " +
                             (run_dir / "config.yaml").string() + ": " + e.msg().substr(0, e.msg().find('\n')));
  }
  model->to(device);
  const std::filesystem::path out =
      create_run_dir(output_dir.empty() ? (run_dir / "predict").string() : output_dir, "predict");
  Config used = data_config;
  used.model = trained.model;
  write_file_atomic(out / "config.yaml", config_to_yaml(used));
  const SplitEvaluation test = evaluate_and_write(model, data.test, used, device, out);
  nlohmann::json j;
  j["test"] = test.json;
  j["model"] = run_dir.string();
  j["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomic(out / "metrics.json", j.dump(2) + "\n");
  log << fmt::format("test: auc {:.4f}  accuracy {:.4f}  instance_auc {:.4f}\n", test.metrics.auc,
                     test.metrics.accuracy, test.instance_auc);
  return out;
}

}  // namespace abmil
