// The `abmil` command: train | cv | predict | embed | visualize | report | config | init.
// One function declares each subcommand's options (with their help text,
// declared once) and one runs it; the work lives in the library.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <fmt/format.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "abmil/config/config.h"
#include "abmil/io/run_dir.h"
#include "abmil/train/cross_validation.h"
#include "abmil/train/run.h"
#include "abmil/viz/report.h"
#include "abmil/viz/visualize.h"

namespace fs = std::filesystem;

namespace abmil_cli {
const std::vector<std::pair<std::string, std::string>>& starter_configs();  // generated starters.cpp
}

namespace {

/// A user mistake: printed as one line `abmil: error: MESSAGE`, exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The options of the commands that read a config: the file, `--set`
/// overrides, `--output` and `--resume RUN_DIR`.
struct ConfigArgs {
  std::string config_path, output_dir, resume_dir;
  std::vector<std::string> overrides;
  CLI::Option* config = nullptr;
  CLI::Option* set = nullptr;
  CLI::Option* output = nullptr;
  CLI::Option* resume = nullptr;

  /// The config file with its overrides, and --output over output.dir.
  abmil::Config load() const {
    abmil::Config cfg = abmil::load_config(config_path, overrides);
    if (!output_dir.empty()) cfg.output.dir = output_dir;
    return cfg;
  }
};

/// Declares CONFIG, --set and (with `output_help`) --output on `cmd`.
void add_config_options(CLI::App* cmd, ConfigArgs& a, const std::string& config_help, const char* output_help) {
  a.config = cmd->add_option("config", a.config_path, config_help);
  a.set = cmd->add_option("--set", a.overrides, "Override one config key, e.g. --set train.epochs=5 (repeatable)")
              ->type_name("KEY=VALUE")
              ->allow_extra_args(false);
  if (output_help) a.output = cmd->add_option("--output", a.output_dir, output_help);
}

/// Declares `--resume RUN_DIR` on `cmd`; `optional_value`: the value may be
/// left out (cv's old spelling, `cv CONFIG --output RUN --resume`).
void add_resume_option(CLI::App* cmd, ConfigArgs& a, const std::string& help, bool optional_value) {
  a.resume = cmd->add_option("--resume", a.resume_dir, help)->type_name("RUN_DIR");
  if (optional_value) a.resume->expected(0, 1);
}

const char* const kOutputHelp = "Run directory (must not exist or be empty); default runs/<experiment.name>";

/// The RUN_DIR/config.yaml a resumed run continues with. Throws UsageError
/// when RUN_DIR holds none.
std::string saved_config(const std::string& run_dir, const char* command) {
  const fs::path saved = fs::path(run_dir) / "config.yaml";
  if (!fs::is_regular_file(saved))
    throw UsageError(saved.string() + ": missing; not a run directory of `abmil " + command + "`");
  return saved.string();
}

// ---- train -------------------------------------------------------------------

std::function<int()> setup_train(CLI::App& app, ConfigArgs& a) {
  CLI::App* cmd = app.add_subcommand("train", "Train a MIL model from a YAML config and write a run directory");
  add_config_options(cmd, a, "YAML config file (see `abmil config --help` for every key)", kOutputHelp);
  add_resume_option(cmd, a, "Continue the interrupted run RUN_DIR (its config.yaml) from its newest good checkpoint",
                    false);
  a.resume->excludes(a.config)->excludes(a.set)->excludes(a.output);
  cmd->footer(
      "The run directory gets config.yaml, metrics.csv, metrics.json, attention/test.csv and "
      "checkpoints/ (best.pt, and\nresumable epoch_NNNNNN.ckpt files with `latest` naming the newest); "
      "metrics.json is written last and marks a\ncomplete run. Give either CONFIG or --resume RUN_DIR.");
  return [cmd, &a] {
    if (!*cmd) return -1;
    if (!a.resume_dir.empty() && fs::exists(fs::path(a.resume_dir) / "metrics.json")) {
      std::cout << a.resume_dir << ": run is complete (metrics.json); nothing to resume\n";
      return 0;
    }
    if (a.resume_dir.empty() && a.config_path.empty())
      throw UsageError("train: give a CONFIG file, or --resume RUN_DIR");
    const abmil::RunSummary s =
        a.resume_dir.empty()
            ? abmil::run_train(a.load(), std::cout)
            : abmil::run_train(abmil::load_config(saved_config(a.resume_dir, "train")), std::cout, a.resume_dir);
    const auto& m = s.test;
    const auto num = abmil::metric_text;
    std::cout << fmt::format(
        "test: loss {}  accuracy {}  error {}  precision {}  recall {}  f1 {}  auc {}  "
        "instance_auc {}\nbest epoch {} of {}, training {:.1f} s, total {:.1f} s\nrun directory: {}\n",
        num(s.test_loss), num(m.accuracy), num(m.error), num(m.precision), num(m.recall), num(m.f1), num(m.auc),
        num(s.instance_auc), s.best_epoch, s.epochs_run, s.train_seconds, s.total_seconds, s.run_dir.string());
    return 0;
  };
}

// ---- cv ----------------------------------------------------------------------

struct CvArgs {
  ConfigArgs config;
  int64_t jobs = 0;  ///< 0: one worker process per core (std::thread::hardware_concurrency)
  std::string worker;
};

/// The config of a cv run from its arguments: CONFIG (a new run, or the old
/// spelling `CONFIG --output RUN --resume`), or `--resume RUN_DIR` (RUN_DIR's
/// config.yaml). Sets `resume`.
abmil::Config cv_config(ConfigArgs& a, bool& resume) {
  resume = a.resume->count() > 0;
  if (resume && !a.resume_dir.empty() && fs::is_regular_file(a.resume_dir)) {
    a.config_path = a.resume_dir;  // `cv --resume CONFIG --output RUN`: the old spelling
    a.resume_dir.clear();
  }
  if (resume && a.resume_dir.empty()) {
    if (a.config_path.empty() || a.output_dir.empty())
      throw UsageError("cv: give --resume RUN_DIR (or the older CONFIG --output RUN --resume)");
    std::cerr << "abmil: note: `cv CONFIG --output RUN --resume` is deprecated; use `abmil cv --resume RUN`\n";
    return a.load();
  }
  if (resume) {
    if (!a.config_path.empty() || !a.overrides.empty() || !a.output_dir.empty())
      throw UsageError("cv: --resume RUN_DIR takes the run's own config.yaml; give no CONFIG, --set or --output");
    abmil::Config cfg = abmil::load_config(saved_config(a.resume_dir, "cv"));
    cfg.output.dir = a.resume_dir;
    return cfg;
  }
  if (a.config_path.empty()) throw UsageError("cv: give a CONFIG file, or --resume RUN_DIR");
  return a.load();
}

std::function<int()> setup_cv(CLI::App& app, CvArgs& a) {
  CLI::App* cmd = app.add_subcommand(
      "cv", "Cross-validation: cv.repeats x cv.folds stratified folds, or one fold per group (cv.split: groups)");
  add_config_options(cmd, a.config, "YAML config file", kOutputHelp);
  add_resume_option(cmd, a.config, "Continue the interrupted run RUN_DIR: folds already finished are not run again",
                    true);
  cmd->add_option("--jobs", a.jobs,
                  "Folds run in this many parallel processes, each with cores / N threads (default 0: one per "
                  "core, the most folds per minute on small bags; 1 runs the folds in this process)")
      ->check(CLI::Range(int64_t{0}, int64_t{64}));
  cmd->add_option("--worker", a.worker, "Internal: run the folds of worker I of N in RUN (--output)")->group("");
  cmd->footer(
      "Writes RUN/folds/r<R>_f<K>.json per fold, RUN/folds.csv and RUN/cv_summary.json\n"
      "({\"<metric>\": {\"mean\", \"std\", \"sem\", \"n\"}}, written last).");
  return [cmd, &a] {
    if (!*cmd) return -1;
    int64_t worker_index = -1;
    int64_t jobs = a.jobs > 0 ? a.jobs : std::max<int64_t>(1, std::thread::hardware_concurrency());
    bool resume = false;
    const abmil::Config cfg = a.worker.empty() ? cv_config(a.config, resume) : a.config.load();
    if (!a.worker.empty()) {
      const auto slash = a.worker.find('/');
      worker_index = std::stoll(a.worker.substr(0, slash));
      jobs = std::stoll(a.worker.substr(slash + 1));
    }
    abmil::run_cv(cfg, std::cout, jobs, worker_index, "/proc/self/exe", resume);
    return 0;
  };
}

// ---- predict, visualize, report, config ----------------------------------------

struct ToolArgs {
  std::string run_dir;
  ConfigArgs config;
  abmil::VisualizeOptions viz;
};

std::function<int()> setup_predict(CLI::App& app, ToolArgs& a) {
  CLI::App* cmd =
      app.add_subcommand("predict", "Predictions and attention for new bags with a trained run, no training");
  cmd->add_option("run_dir", a.run_dir, "Run directory of `abmil train` (its config.yaml and checkpoints/best.pt)")
      ->required();
  cmd->add_option("input", a.config.config_path,
                  "The bags to score: a feature CSV, an image list or folder, a text folder or list, of the kind "
                  "the run was trained on (labels optional), or a config file whose data section names them")
      ->required();
  add_config_options(cmd, a.config, "",
                     "Output folder (must not exist or be empty); default RUN_DIR/predict, or "
                     "predict-2, ... if taken");
  cmd->remove_option(a.config.config);
  cmd->footer(
      "Every bag of INPUT is scored with the run's preprocessing (feature statistics, pixel normalisation, "
      "vocabulary);\npredictions/test.csv and attention/test.csv name each bag by its own id (bag_name); "
      "metrics.json has bag metrics\nwhen every bag has a label. `abmil visualize` works on the output folder.");
  return [cmd, &a] {
    if (!*cmd) return -1;
    const auto out =
        abmil::run_predict(a.run_dir, a.config.config_path, a.config.overrides, a.config.output_dir, std::cout);
    std::cout << "output: " << out.string() << "\n";
    return 0;
  };
}

struct EmbedArgs {
  std::string run_dir;
  ConfigArgs config;
  bool raw = false;
};

std::function<int()> setup_embed(CLI::App& app, EmbedArgs& a) {
  CLI::App* cmd = app.add_subcommand(
      "embed", "Write every bag's embedding z (before the classifier) and a nearest-neighbour retrieval check");
  cmd->add_option("run_dir", a.run_dir, "Run directory of `abmil train` (its config.yaml and checkpoints/best.pt)")
      ->required();
  add_config_options(cmd, a.config,
                     "Config whose data section gives the bags (default: the run's config.yaml); split as in "
                     "training (same data.kind, seed and files)",
                     "Output folder (must not exist or be empty); default RUN_DIR/embed, or embed-2, ... if taken");
  cmd->add_flag("--raw", a.raw, "Write z as the pooling gives it (default: each row L2-normalised)");
  cmd->footer(
      "Writes embeddings.npy (float32 [bags, D], numpy.load reads it), embeddings.csv (row, split, bag_id, "
      "bag_name, label)\nand embed.json: the top-1 nearest-neighbour accuracy (cosine) of the test bags against "
      "the training bags.");
  return [cmd, &a] {
    if (!*cmd) return -1;
    abmil::run_embed(a.run_dir, a.config.config_path, a.config.overrides, a.config.output_dir, a.raw, std::cout);
    return 0;
  };
}

std::function<int()> setup_visualize(CLI::App& app, ToolArgs& a) {
  CLI::App* cmd =
      app.add_subcommand("visualize", "Write attention pictures (PNG) or, for text, HTML pages of a run's test bags");
  cmd->add_option("run_dir", a.run_dir, "Run directory")->required();
  cmd->add_option("--bags", a.viz.bag_ids, "Test bag ids to draw (comma-separated)")->delimiter(',');
  cmd->add_option("--top", a.viz.top, "Bags in each gallery of the most and least confident bags")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  cmd->add_option("--top-patches", a.viz.montage_k, "image_patches: patches in each top-k montage")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  cmd->add_option("--alpha", a.viz.alpha, "image_patches, feature_files: opacity of the heatmap over the image")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--patch-size", a.viz.patch_size,
                  "feature_files: patch side in level-0 pixels (default: the feature file's patch_size_level0, "
                  "else inferred from each slide's coordinates)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_flag("--all-branches", a.viz.all_branches,
                "feature_files, multi-branch models: also one heatmap per attention_<class> column");
  cmd->footer(
      "Writes RUN_DIR/visualize/bag_<id>.png, gallery_most_confident.png, gallery_least_confident.png;\n"
      "image_patches runs (train or cv): <image>_overlay.png and <image>_top<k>.png per test image;\n"
      "feature_files runs: <slide>_heatmap.png per test slide (over its image in data.slide_dir, if there).");
  return [cmd, &a] {
    if (!*cmd) return -1;
    abmil::visualize_run(a.run_dir, a.viz, std::cout);
    return 0;
  };
}

std::function<int()> setup_report(CLI::App& app, ToolArgs& a) {
  CLI::App* cmd = app.add_subcommand("report", "Write RUN_DIR/report.html: one self-contained page of the run");
  cmd->add_option("run_dir", a.run_dir, "Run directory")->required();
  return [cmd, &a] {
    if (!*cmd) return -1;
    const fs::path path = fs::path(a.run_dir) / "report.html";
    abmil::write_file_atomic(path, abmil::render_report(a.run_dir));
    std::cout << "wrote " << path.string() << "\n";
    return 0;
  };
}

std::function<int()> setup_config(CLI::App& app, ConfigArgs& a) {
  CLI::App* cmd = app.add_subcommand("config", "Print every config key with its default, or a resolved config");
  add_config_options(cmd, a, "Print this config file resolved (defaults filled in, overrides applied)", nullptr);
  cmd->footer("Config keys (section.key  type  default  allowed  doc):\n" + abmil::config_reference());
  return [cmd, &a] {
    if (!*cmd) return -1;
    std::cout << (a.config_path.empty() ? abmil::config_reference()
                                        : abmil::config_to_yaml(abmil::load_config(a.config_path, a.overrides)));
    return 0;
  };
}

// ---- init --------------------------------------------------------------------

struct InitArgs {
  std::string kind, dir = ".";
};

/// The starters of configs/examples/ (generated starters.cpp).
std::vector<std::string> starter_kinds() {
  std::vector<std::string> kinds;
  for (const auto& [kind, text] : abmil_cli::starter_configs()) kinds.push_back(kind);
  return kinds;
}

std::function<int()> setup_init(CLI::App& app, InitArgs& a) {
  CLI::App* cmd = app.add_subcommand("init", "Write a commented starter config for your own data (DIR/KIND.yaml)");
  cmd->add_option("kind", a.kind, "Data kind of the starter")->required()->check(CLI::IsMember(starter_kinds()));
  cmd->add_option("dir", a.dir, "Folder to write KIND.yaml into, next to your data (default: the current folder)");
  cmd->footer(
      "The starter names its data with a path relative to itself (bags.csv, images.csv, documents/): put it "
      "next to\nyour data, edit data.path (feature_files: data.bag_list, data.features), then `abmil train DIR/KIND.yaml`. An existing file is not overwritten.");
  return [cmd, &a] {
    if (!*cmd) return -1;
    for (const auto& [kind, text] : abmil_cli::starter_configs()) {
      if (kind != a.kind) continue;
      const fs::path out = fs::path(a.dir) / (kind + ".yaml");
      if (fs::exists(out))
        throw UsageError(out.string() + ": exists; not overwritten (remove it or choose another DIR)");
      abmil::write_file_atomic(out, text);
      const char* edit = kind == "feature_files" ? "data.bag_list and data.features" : "data.path";
      std::cout << "wrote " << out.string() << ": edit " << edit << ", then `abmil train " << out.string() << "`\n";
      return 0;
    }
    throw UsageError("init: no starter for " + a.kind);  // unreachable: checked by IsMember
  };
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"abmil: attention-based deep multiple-instance learning (Ilse, Tomczak & Welling 2018) with LibTorch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "abmil 0.1.0");
  ConfigArgs train_args, config_args;
  CvArgs cv_args;
  ToolArgs tool_args;
  InitArgs init_args;
  EmbedArgs embed_args;
  const std::vector<std::function<int()>> commands = {setup_train(app, train_args),    setup_cv(app, cv_args),
                                                      setup_predict(app, tool_args),   setup_embed(app, embed_args),
                                                      setup_visualize(app, tool_args), setup_report(app, tool_args),
                                                      setup_config(app, config_args),  setup_init(app, init_args)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& command : commands)
      if (const int code = command(); code >= 0) return code;
    return 2;                          // unreachable: require_subcommand(1)
  } catch (const std::exception& e) {  // UsageError, ConfigError, DataError, I/O: one line each
    std::cerr << "abmil: error: " << e.what() << "\n";
    return 2;
  }
}
