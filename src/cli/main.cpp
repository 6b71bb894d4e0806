// The `abmil` command: train | cv | predict | visualize | report | config. Options are declared once here with
// their help text (mlpack's rule); the work lives in the library.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/cross_validation.h"
#include "abmil/train/run.h"
#include "abmil/viz/report.h"
#include "abmil/viz/visualize.h"

namespace {

/// Prints the one-line error of a user mistake and gives the exit code 2.
int fail(const std::string& message) {
  std::cerr << "abmil: error: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"abmil: attention-based deep multiple-instance learning (Ilse, Tomczak & Welling 2018) with LibTorch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "abmil 0.1.0");

  std::string config_path, output_dir;
  std::vector<std::string> overrides;
  CLI::App* train = app.add_subcommand("train", "Train a MIL model from a YAML config and write a run directory");
  std::string resume_dir;
  CLI::Option* train_config =
      train->add_option("config", config_path, "YAML config file (see `abmil config --help` for every key)");
  CLI::Option* train_set =
      train->add_option("--set", overrides, "Override one config key, e.g. --set train.epochs=5 (repeatable)")
          ->type_name("KEY=VALUE")
          ->allow_extra_args(false);
  CLI::Option* train_output = train->add_option(
      "--output", output_dir, "Run directory (must not exist or be empty); default runs/<experiment.name>");
  CLI::Option* train_resume =
      train->add_option("--resume", resume_dir,
                        "Continue the interrupted run RUN_DIR (its config.yaml) from its newest good checkpoint")
          ->type_name("RUN_DIR");
  train_resume->excludes(train_config)->excludes(train_set)->excludes(train_output);
  train->footer("The run directory gets config.yaml, metrics.csv, metrics.json, attention/test.csv and "
                "checkpoints/ (best.pt, and\nresumable epoch_NNNNNN.ckpt files with `latest` naming the newest); "
                "metrics.json is written last and marks a\ncomplete run. Give either CONFIG or --resume RUN_DIR.");

  int64_t jobs = 1;
  std::string worker;
  CLI::App* cv = app.add_subcommand("cv", "Cross-validation: cv.repeats x cv.folds stratified folds, or one fold per group (cv.split: groups)");
  cv->add_option("config", config_path, "YAML config file")->required();
  cv->add_option("--set", overrides, "Override one config key (repeatable)")->type_name("KEY=VALUE");
  cv->add_option("--output", output_dir, "Run directory (must not exist or be empty); default runs/<experiment.name>");
  cv->add_option("--jobs", jobs, "Folds run in this many parallel processes")->check(CLI::Range(int64_t{1}, int64_t{64}));
  bool resume = false;
  cv->add_flag("--resume", resume, "Continue the run in --output: folds already finished are not run again");
  cv->add_option("--worker", worker, "Internal: run the folds of worker I of N in RUN (--output)")->group("");
  cv->footer("Writes RUN/folds/r<R>_f<K>.json per fold, RUN/folds.csv and RUN/cv_summary.json\n"
             "({\"<metric>\": {\"mean\", \"std\", \"sem\", \"n\"}}, written last).");

  std::string run_dir, data_config_path;
  CLI::App* predict = app.add_subcommand("predict", "Predictions and attention for new bags with a trained run, no training");
  predict->add_option("run_dir", run_dir, "Run directory of `abmil train` (its config.yaml and checkpoints/best.pt)")
      ->required();
  predict->add_option("config", data_config_path, "Config whose data section gives the bags (its test split is predicted)")
      ->required();
  predict->add_option("--set", overrides, "Override one key of that config (repeatable)")->type_name("KEY=VALUE");
  predict->add_option("--output", output_dir, "Output folder; default RUN_DIR/predict");

  abmil::VisualizeOptions viz;
  CLI::App* visualize = app.add_subcommand("visualize", "Write attention pictures (PNG) or, for text, HTML pages of a run's test bags");
  visualize->add_option("run_dir", run_dir, "Run directory")->required();
  visualize->add_option("--bags", viz.bag_ids, "Test bag ids to draw (comma-separated)")->delimiter(',');
  visualize->add_option("--top", viz.top, "Bags in each gallery of the most and least confident bags")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  visualize->add_option("--top-patches", viz.montage_k, "image_patches: patches in each top-k montage")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  visualize->add_option("--alpha", viz.alpha, "image_patches: opacity of the heatmap over the image")
      ->check(CLI::Range(0.0, 1.0));
  visualize->footer(
      "Writes RUN_DIR/visualize/bag_<id>.png, gallery_most_confident.png, gallery_least_confident.png;\n"
      "image_patches runs (train or cv): <image>_overlay.png and <image>_top<k>.png per test image.");

  CLI::App* report = app.add_subcommand("report", "Write RUN_DIR/report.html: one self-contained page of the run");
  report->add_option("run_dir", run_dir, "Run directory")->required();

  std::string show_path;
  CLI::App* config = app.add_subcommand("config", "Print every config key with its default, or a resolved config");
  config->add_option("config", show_path, "Print this config file resolved (defaults filled in, overrides applied)");
  config->add_option("--set", overrides, "Override one config key (repeatable)")->type_name("KEY=VALUE");
  config->footer("Config keys (section.key  type  default  allowed  doc):\n" + abmil::config_reference());

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*config) {
      if (show_path.empty()) {
        std::cout << abmil::config_reference();
      } else {
        std::cout << abmil::config_to_yaml(abmil::load_config(show_path, overrides));
      }
      return 0;
    }
    if (*predict) {
      const auto out = abmil::run_predict(run_dir, abmil::load_config(data_config_path, overrides), output_dir, std::cout);
      std::cout << "output: " << out.string() << "\n";
      return 0;
    }
    if (*visualize) {
      abmil::visualize_run(run_dir, viz, std::cout);
      return 0;
    }
    if (*report) {
      const std::filesystem::path path = std::filesystem::path(run_dir) / "report.html";
      abmil::write_file_atomic(path, abmil::render_report(run_dir));
      std::cout << "wrote " << path.string() << "\n";
      return 0;
    }
    // train and cv: the config file, its overrides, and --output over output.dir
    auto run_config = [&] {
      abmil::Config cfg = abmil::load_config(config_path, overrides);
      if (!output_dir.empty()) cfg.output.dir = output_dir;
      return cfg;
    };
    if (*cv) {
      const abmil::Config cfg = run_config();
      int64_t worker_index = -1;
      if (!worker.empty()) {
        const auto slash = worker.find('/');
        worker_index = std::stoll(worker.substr(0, slash));
        jobs = std::stoll(worker.substr(slash + 1));
      }
      abmil::run_cv(cfg, std::cout, jobs, worker_index, "/proc/self/exe", resume);
      return 0;
    }
    if (!resume_dir.empty()) {
      if (std::filesystem::exists(std::filesystem::path(resume_dir) / "metrics.json")) {
        std::cout << resume_dir << ": run is complete (metrics.json); nothing to resume\n";
        return 0;
      }
      const std::filesystem::path saved = std::filesystem::path(resume_dir) / "config.yaml";
      if (!std::filesystem::is_regular_file(saved))
        return fail(saved.string() + ": missing; not a run directory of `abmil train`");
    } else if (config_path.empty()) {
      return fail("train: give a CONFIG file, or --resume RUN_DIR");
    }
    const abmil::RunSummary s =
        resume_dir.empty()
            ? abmil::run_train(run_config(), std::cout)
            : abmil::run_train(abmil::load_config((std::filesystem::path(resume_dir) / "config.yaml").string()),
                               std::cout, resume_dir);
    const auto& m = s.test;
    std::cout << fmt::format(
        "test: loss {:.4f}  accuracy {:.4f}  error {:.4f}  precision {:.4f}  recall {:.4f}  f1 {:.4f}  auc {:.4f}  "
        "instance_auc {:.4f}\nbest epoch {} of {}, training {:.1f} s, total {:.1f} s\nrun directory: {}\n",
        s.test_loss, m.accuracy, m.error, m.precision, m.recall, m.f1, m.auc, s.instance_auc, s.best_epoch,
        s.epochs_run, s.train_seconds, s.total_seconds, s.run_dir.string());
    return 0;
  } catch (const std::exception& e) {  // ConfigError, DataError, I/O: one line each
    return fail(e.what());
  }
}
