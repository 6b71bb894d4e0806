#include "abmil/train/run.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "abmil/config/config.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/io/run_dir.h"
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

RunSummary run_train(const Config& config, std::ostream& log) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const int threads = configure_runtime(config.runtime.threads);
  const torch::Device device = pick_device(config.runtime.device);

  MilData data = load_mnist_bags(config.data, static_cast<uint64_t>(config.experiment.seed));
  log << data.summary << "\n";

  RunSummary summary;
  summary.run_dir = create_run_dir(config.output.dir, config.experiment.name);
  write_file_atomic(summary.run_dir / "config.yaml", config_to_yaml(config));
  log << fmt::format("run directory {} | {} threads | device {}\n", summary.run_dir.string(), threads,
                     config.runtime.device);

  torch::manual_seed(static_cast<uint64_t>(config.experiment.seed));
  MilModel model(config.model, data.instance_shape);
  model->to(device);

  const bool progress = want_progress(config.runtime.progress);
  TrainResult trained = fit(
      model, data, config, device,
      [&](const EpochLog& t, const EpochLog* v) {
        log << epoch_line(t, v, config.train.epochs) << std::endl;
      },
      progress);
  write_file_atomic(summary.run_dir / "metrics.csv", metrics_csv(trained.history));
  if (config.output.save_checkpoint) {
    std::ostringstream archive;
    torch::save(model, archive);
    write_file_atomic(summary.run_dir / "checkpoints" / "best.pt", archive.str());
  }

  const auto t_test = Clock::now();
  BagPredictions test = predict(model, data.test, config.eval.max_instances_per_pass, device);
  const double test_seconds = std::chrono::duration<double>(Clock::now() - t_test).count();
  summary.test = classification_metrics(test.probabilities, test.labels, config.eval.threshold);
  summary.test_loss = test.loss;
  summary.instance_auc = instance_auc(data.test, test.attention);
  trained.history.push_back({trained.best_epoch, "test", test.loss, summary.test, test_seconds});
  write_file_atomic(summary.run_dir / "metrics.csv", metrics_csv(trained.history));
  if (config.output.save_attention)
    write_file_atomic(summary.run_dir / "attention" / "test.csv", attention_csv(data.test, test));

  summary.best_epoch = trained.best_epoch;
  summary.epochs_run = trained.epochs_run;
  summary.train_seconds = trained.train_seconds;
  summary.total_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  nlohmann::json j;
  j["test"] = metrics_json(summary.test, summary.test_loss);
  j["test"]["instance_auc"] = std::isnan(summary.instance_auc) ? nlohmann::json(nullptr)
                                                               : nlohmann::json(summary.instance_auc);
  j["test"]["bags"] = data.test.num_bags();
  j["test"]["seconds"] = test_seconds;
  j["training"] = {{"best_epoch", summary.best_epoch}, {"epochs_run", summary.epochs_run},
                   {"stopped_early", trained.stopped_early}, {"seconds", summary.train_seconds},
                   {"threads", threads}};
  j["seconds_total"] = summary.total_seconds;
  write_file_atomic(summary.run_dir / "metrics.json", j.dump(2) + "\n");
  return summary;
}

}  // namespace abmil
