#include "abmil/train/run.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "abmil/config/config.h"
#include "abmil/data/kinds.h"
#include "abmil/data/text.h"
#include "abmil/io/npy.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/checkpoint.h"
#include "abmil/train/evaluate.h"
#include "abmil/train/preprocessing.h"
#include "abmil/train/run_files.h"
#include "abmil/train/runtime.h"
#include "abmil/train/trainer.h"

namespace abmil {

namespace {

bool want_progress(const std::string& mode) { return mode == "always" || (mode == "auto" && ::isatty(STDERR_FILENO)); }

std::string epoch_line(const EpochLog& t, const EpochLog* v, int64_t epochs) {
  std::string line = fmt::format("epoch {:>3}/{}  train loss {:.4f} acc {:.3f} auc {:.3f}", t.epoch, epochs, t.loss,
                                 t.metrics.accuracy, t.metrics.auc);
  if (v) line += fmt::format("  | val loss {:.4f} acc {:.3f} auc {:.3f}", v->loss, v->metrics.accuracy, v->metrics.auc);
  return line + fmt::format("  | {:.1f} s", t.seconds + (v ? v->seconds : 0.0));
}

}  // namespace

namespace {

/// The run directory of a new run (config.yaml, and vocabulary.txt for a
/// model with an embedding table), or `resume_dir` as it is.
std::filesystem::path prepare_run_dir(const Config& config, const MilData& data,
                                      const std::filesystem::path& resume_dir) {
  if (!resume_dir.empty()) return resume_dir;
  const std::filesystem::path dir = start_run_dir(config);
  write_file_atomic(dir / "preprocessing.json", preprocessing_json(config, data));
  if (!data.vocabulary.empty())  // text_bags: the token ids of the model's embedding table
    write_file_atomic(dir / "vocabulary.txt", Vocabulary::from_tokens(data.vocabulary).to_text());
  return dir;
}

/// fit() with the run directory's checkpoints: resumed from its newest good
/// checkpoint when `resume`, checkpointing as output.save_checkpoint says,
/// one log line per epoch; a divergence names the last good checkpoint.
TrainResult fit_in_run_dir(MilModel& model, const MilData& data, const Config& config, torch::Device device,
                           const std::filesystem::path& run_dir, bool resume, std::ostream& log) {
  FitOptions options;
  options.on_epoch = [&](const EpochLog& t, const EpochLog* v) {
    log << epoch_line(t, v, config.train.epochs) << std::endl;
  };
  options.show_progress = want_progress(config.runtime.progress);
  std::optional<TrainState> start;
  if (resume) {
    start = load_latest_checkpoint(run_dir, log);
    if (start)
      log << fmt::format("resuming after epoch {} (best epoch {})\n", start->epoch, start->best_epoch);
    else
      log << "no usable checkpoint: training from the start\n";
    if (start) options.resume = &*start;
  }
  std::string last_checkpoint = start ? fmt::format("epoch {}", start->epoch) : "none";
  if (config.output.save_checkpoint)
    options.on_checkpoint = [&](const TrainState& state) {
      write_checkpoint(run_dir, state);
      last_checkpoint = fmt::format("epoch {}", state.epoch);
    };
  try {
    return fit(model, data, config, device, options);
  } catch (const TrainingDiverged& e) {
    throw TrainingDiverged(fmt::format("{}; last good checkpoint: {} ({})", e.what(), last_checkpoint,
                                       (run_dir / "checkpoints").string()));
  }
}

/// metrics.json of a finished run: the test split's object and the training summary.
std::string run_metrics_json(const SplitEvaluation& test, const TrainResult& trained, int threads,
                             double total_seconds) {
  nlohmann::json j;
  j["test"] = test.json;
  j["training"] = {{"best_epoch", trained.best_epoch},
                   {"epochs_run", trained.epochs_run},
                   {"stopped_early", trained.stopped_early},
                   {"seconds", trained.train_seconds},
                   {"threads", threads},
                   {"flush_denormal", subnormals_flushed()}};
  j["seconds_total"] = total_seconds;
  return j.dump(2) + "\n";
}

}  // namespace

RunSummary run_train(const Config& given, std::ostream& log, const std::filesystem::path& resume_dir) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  if (resume_dir.empty()) check_output_dir(given.output.dir);  // before minutes of reading data
  const int threads = configure_runtime(given.runtime.threads, given.runtime.flush_denormal);
  const torch::Device device = pick_device(given.runtime.device);

  MilData data = load_data(given.data, static_cast<uint64_t>(given.experiment.seed));
  log << data.summary << "\n";
  // The run's config.yaml names the classes in index order, as the model's
  // outputs have them (`abmil predict` reads them back).
  Config config = given;
  if (!data.classes.empty()) config.data.classes = data.classes;

  // The model first: a model that cannot take the data fails before a run directory is made.
  torch::manual_seed(static_cast<uint64_t>(config.experiment.seed));
  MilModel model(config.model, data.instance_shape, static_cast<int64_t>(data.vocabulary.size()), data.num_outputs());
  model->multi_label = data.multi_label;
  model->to(device);
  check_trainable(config, data);

  RunSummary summary;
  summary.run_dir = prepare_run_dir(config, data, resume_dir);
  log << fmt::format("run directory {} | {} thread{} | device {}\n", summary.run_dir.string(), threads,
                     threads == 1 ? "" : "s", config.runtime.device);
  TrainResult trained = fit_in_run_dir(model, data, config, device, summary.run_dir, !resume_dir.empty(), log);
  write_file_atomic(summary.run_dir / "metrics.csv", metrics_csv(trained.history));
  if (config.output.save_checkpoint) {
    std::ostringstream archive;
    torch::save(model, archive);
    write_file_atomic(summary.run_dir / "checkpoints" / "best.pt", archive.str());
  }

  const SplitEvaluation test = evaluate_and_write(model, data.test, config, device, summary.run_dir, "test");
  summary.test = test.metrics;
  summary.test_loss = test.loss;
  summary.instance_auc = test.instance_auc;
  trained.history.push_back({trained.best_epoch, "test", test.loss, summary.test, test.seconds});
  write_file_atomic(summary.run_dir / "metrics.csv", metrics_csv(trained.history));

  summary.best_epoch = trained.best_epoch;
  summary.epochs_run = trained.epochs_run;
  summary.train_seconds = trained.train_seconds;
  summary.total_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  write_file_atomic(summary.run_dir / "metrics.json", run_metrics_json(test, trained, threads, summary.total_seconds));
  return summary;
}

namespace {

/// The config of `abmil predict RUN_DIR INPUT`: INPUT's own data section when
/// it is a config file (.yaml / .yml), else the run's with data.path = INPUT
/// (image paths then relative to INPUT's folder); `overrides` on top; the
/// model always the run's. Throws ConfigError, and std::runtime_error when the
/// data kind differs from the run's.
Config predict_config(const Config& trained, const std::filesystem::path& run_dir, const std::string& input,
                      const std::vector<std::string>& overrides) {
  const std::string ext = std::filesystem::path(input).extension().string();
  const bool is_config = (ext == ".yaml" || ext == ".yml") && std::filesystem::is_regular_file(input);
  Config used;
  if (is_config) {
    used = load_config(input, overrides);
    if (used.data.kind != trained.data.kind)
      throw std::runtime_error(fmt::format("{}: data.kind {}, but the run {} was trained on {}", input, used.data.kind,
                                           run_dir.string(), trained.data.kind));
  } else {
    used = trained;
    (used.data.kind == "feature_files" ? used.data.bag_list : used.data.path) = input;
    used.data.image_root = "";
    used.output = OutputConfig{};
    if (!overrides.empty()) used = parse_config(config_to_yaml(used), input, overrides);
    // INPUT and --set paths are the command line's: relative to the current
    // directory, made absolute so the saved config.yaml reads the same files
    make_data_paths_absolute(used, std::filesystem::current_path());
  }
  used.model = trained.model;
  used.data.classes = trained.data.classes;  // the model's outputs, in its order
  return used;
}

/// RUN_DIR/config.yaml of a trained run; throws std::runtime_error when it
/// is missing, ConfigError when it does not load.
Config read_trained_config(const std::filesystem::path& run_dir) {
  const std::filesystem::path trained_yaml = run_dir / "config.yaml";
  if (!std::filesystem::is_regular_file(trained_yaml))
    throw std::runtime_error(trained_yaml.string() + ": missing (RUN_DIR must be a run directory of `abmil train`)");
  return load_config(trained_yaml.string());
}

/// The trained run's token ids (RUN_DIR/vocabulary.txt) for a data kind
/// that uses a vocabulary (`kind` text_bags), else nothing. Throws
/// std::runtime_error when the file is missing.
std::optional<Vocabulary> read_run_vocabulary(const std::filesystem::path& run_dir, const DataKindInfo& kind) {
  if (!kind.uses_vocabulary) return std::nullopt;
  const std::filesystem::path vocabulary = run_dir / "vocabulary.txt";
  if (!std::filesystem::is_regular_file(vocabulary))
    throw std::runtime_error(vocabulary.string() + ": missing (a " + kind.name + " run saves its vocabulary there)");
  return Vocabulary::from_text(read_file(vocabulary), vocabulary.string());
}

/// RUN_DIR/checkpoints/best.pt; throws std::runtime_error when it is missing.
std::filesystem::path best_checkpoint(const std::filesystem::path& run_dir) {
  const std::filesystem::path checkpoint = run_dir / "checkpoints" / "best.pt";
  if (!std::filesystem::is_regular_file(checkpoint))
    throw std::runtime_error(checkpoint.string() +
                             ": no checkpoint (was the run trained with output.save_checkpoint?)");
  return checkpoint;
}

/// The model of `trained` (RUN_DIR/config.yaml) for `data`, with the run's
/// best weights, on `device`. Throws std::runtime_error naming the
/// checkpoint when it does not fit the model.
MilModel load_trained_model(const Config& trained, const MilData& data, const std::filesystem::path& run_dir,
                            torch::Device device) {
  const std::filesystem::path checkpoint = best_checkpoint(run_dir);
  MilModel model(trained.model, data.instance_shape, static_cast<int64_t>(data.vocabulary.size()), data.num_outputs());
  model->multi_label = data.multi_label;
  try {
    torch::load(model, checkpoint.string());
  } catch (const c10::Error& e) {
    throw std::runtime_error(checkpoint.string() + ": cannot load the checkpoint into the model of " +
                             (run_dir / "config.yaml").string() + ": " + e.msg().substr(0, e.msg().find('\n')));
  }
  model->to(device);
  return model;
}

}  // namespace

std::filesystem::path run_predict(const std::filesystem::path& run_dir, const std::string& input,
                                  const std::vector<std::string>& overrides, const std::string& output_dir,
                                  std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  const Config trained = read_trained_config(run_dir);
  best_checkpoint(run_dir);  // a run without weights fails before the data is read
  Config used = predict_config(trained, run_dir, input, overrides);
  // The output first: a taken folder fails before minutes of reading data.
  check_output_dir(output_dir);
  const std::filesystem::path out =
      output_dir.empty() ? next_free_dir(run_dir / "predict") : std::filesystem::path(output_dir);

  configure_runtime(used.runtime.threads, used.runtime.flush_denormal);
  const torch::Device device = pick_device(used.runtime.device);
  const DataKindInfo& kind = data_kind(used.data.kind);
  Preprocessing prep = read_preprocessing(run_dir, trained, &used.data);
  // the token ids of the trained model, not a new vocabulary
  const std::optional<Vocabulary> fixed = read_run_vocabulary(run_dir, kind);
  if (fixed) prep.vocabulary = &*fixed;
  const MilData data = kind.load_predict(used.data, static_cast<uint64_t>(used.experiment.seed), prep);
  log << data.summary << "\n";
  MilModel model = load_trained_model(trained, data, run_dir, device);
  std::filesystem::create_directories(out);
  write_file_atomic(out / "config.yaml", config_to_yaml(used));
  const SplitEvaluation test = evaluate_and_write(model, data.test, used, device, out, "test");
  nlohmann::json j;
  j["test"] = test.json;
  j["model"] = run_dir.string();
  j["input"] = input;
  j["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomic(out / "metrics.json", j.dump(2) + "\n");
  log << fmt::format("{} bags scored", data.test.num_bags());
  if (test.labelled)
    log << fmt::format(": auc {}  accuracy {}  instance_auc {}", metric_text(test.metrics.auc),
                       metric_text(test.metrics.accuracy), metric_text(test.instance_auc));
  else
    log << " (not every bag has a label: no metrics)";
  log << "\n";
  return out;
}

EmbedSummary run_embed(const std::filesystem::path& run_dir, const std::string& config_path,
                       const std::vector<std::string>& overrides, const std::string& output_dir, bool raw,
                       std::ostream& log) {
  const std::filesystem::path trained_yaml = run_dir / "config.yaml";
  const Config trained = read_trained_config(run_dir);
  if (is_instance_level(trained.model.pooling))
    throw std::runtime_error(fmt::format("{}: model.pooling {} pools instance scores, so its bags have no embedding",
                                         trained_yaml.string(), trained.model.pooling));
  best_checkpoint(run_dir);
  Config used = config_path.empty() ? parse_config(config_to_yaml(trained), trained_yaml.string(), overrides)
                                    : load_config(config_path, overrides);
  if (used.data.kind != trained.data.kind)
    throw std::runtime_error(fmt::format("{}: data.kind {}, but the run {} was trained on {}", config_path,
                                         used.data.kind, run_dir.string(), trained.data.kind));
  used.model = trained.model;
  check_output_dir(output_dir);
  EmbedSummary summary;
  summary.dir = output_dir.empty() ? next_free_dir(run_dir / "embed") : std::filesystem::path(output_dir);

  configure_runtime(used.runtime.threads, used.runtime.flush_denormal);
  const torch::Device device = pick_device(used.runtime.device);
  const std::optional<Vocabulary> fixed = read_run_vocabulary(run_dir, data_kind(used.data.kind));
  const MilData data = load_data(used.data, static_cast<uint64_t>(used.experiment.seed), fixed ? &*fixed : nullptr);
  log << data.summary << "\n";
  MilModel model = load_trained_model(trained, data, run_dir, device);

  // Every bag's z, in the order train, validation, test.
  std::vector<torch::Tensor> parts;
  std::string index = "row,split,bag_id,bag_name,label\n";
  std::vector<int> labels;
  int64_t row = 0, reference_rows = 0;
  for (const BagSplit* split : {&data.train, &data.validation, &data.test}) {
    if (split->num_bags() == 0) continue;
    const BagPredictions p = predict(model, *split, used.eval.max_instances_per_pass, device);
    parts.push_back(p.bag_embeddings.to(torch::kFloat));
    for (const Bag& bag : split->bags) {
      index += fmt::format("{},{},{},{},{}\n", row++, split->name, bag.id, bag_name_cell(bag),
                           bag.label >= 0 ? std::to_string(bag.label) : std::string());
      labels.push_back(bag.label);
    }
    if (split != &data.test) reference_rows += split->num_bags();
  }
  if (parts.empty())
    throw std::runtime_error((config_path.empty() ? trained_yaml.string() : config_path) + ": the data has no bags");
  const torch::Tensor raw_z = torch::cat(parts).contiguous();  // [B, D]
  const torch::Tensor unit = raw_z / raw_z.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12);
  const torch::Tensor written = (raw ? raw_z : unit).contiguous();
  summary.bags = written.size(0);
  summary.dim = written.size(1);

  // Top-1 nearest neighbour (cosine) of each labelled test bag among the training (and validation) bags.
  int64_t hits = 0;
  if (reference_rows > 0 && reference_rows < summary.bags) {
    const torch::Tensor nearest = torch::matmul(unit.narrow(0, reference_rows, summary.bags - reference_rows),
                                                unit.narrow(0, 0, reference_rows).t())
                                      .argmax(1);
    for (int64_t q = 0; q < nearest.size(0); ++q) {
      const int label = labels[static_cast<size_t>(reference_rows + q)];
      if (label < 0) continue;
      ++summary.queries;
      hits += labels[static_cast<size_t>(nearest[q].item<int64_t>())] == label;
    }
  }
  summary.top1_accuracy = summary.queries > 0 ? static_cast<double>(hits) / summary.queries : std::nan("");

  std::filesystem::create_directories(summary.dir);
  write_file_atomic(summary.dir / "embeddings.npy", npy_float32(written.data_ptr<float>(), summary.bags, summary.dim));
  write_file_atomic(summary.dir / "embeddings.csv", index);
  nlohmann::json j;
  j["model"] = run_dir.string();
  j["bags"] = summary.bags;
  j["dim"] = summary.dim;
  j["normalized"] = !raw;
  j["reference_bags"] = reference_rows;
  j["test_bags"] = summary.queries;
  j["top1_accuracy"] = json_number(summary.top1_accuracy);
  j["similarity"] = "cosine";
  write_file_atomic(summary.dir / "embed.json", j.dump(2) + "\n");
  log << fmt::format("{} bag embeddings of {} dimensions ({}) in {}\n", summary.bags, summary.dim,
                     raw ? "raw" : "L2-normalised", summary.dir.string());
  log << fmt::format("top-1 nearest-neighbour accuracy (cosine) of {} test bags against {} training bags: {}\n",
                     summary.queries, reference_rows, metric_text(summary.top1_accuracy));
  return summary;
}

}  // namespace abmil
