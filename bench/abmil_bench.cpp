// abmil_bench: speed and memory figures (no pass/fail; see bench/README.md).
//
//   abmil_bench mnist [--data DIR] [--threads T] [--epochs 30] [--bags-per-step 1,4,16]
//                     [--train-bags 200] [--test-bags 1000] [--no-dedupe]
//                     [--flush-denormal on|off]
//     The paper's MNIST-bags setting (mean 10, std 2, gated attention, Adam):
//     per B, the training seconds of EVERY epoch, their "early" median
//     (epochs 1-5) and "late" median (the last 10: the steady state, once
//     the model fits and gradients and Adam moments may turn subnormal),
//     late / early (a WARNING line when over 1.2), instances per second in
//     the steady state, evaluation seconds of the test bags, and the compute
//     floor: LeNet-5 forward+backward over the same instances in large
//     batches; and the B=1 step floor: the model's forward, loss, backward and
//     Adam step on each training bag, with no trainer around it (what one bag
//     per step costs in LibTorch's kernels alone). Prints a table and one
//     JSON line (the last line).
//   abmil_bench features --instances N [--dim 1024] [--threads T] [--chunk 8192]
//     The compute floor of an epoch on whole-slide features: CLAM_SB's fc and
//     gated-attention matmuls alone, forward and backward, over N instances
//     in chunks (bench/feature_files_speed.py prints it beside the epochs).
//   abmil_bench large --instances K [--dim 1024] [--threads T] [--steps 5] [--flush-denormal on|off]
//                     [--pooling gated_attention]
//     One bag of K feature vectors (MLP 1024->128 encoder, the pooling with its defaults):
//     seconds per training step (median) and peak resident memory.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "abmil/config/config.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/nn/encoders.h"
#include "abmil/nn/mil_model.h"
#include "abmil/nn/pooling.h"
#include "abmil/train/runtime.h"
#include "abmil/train/trainer.h"

using namespace abmil;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

/// Epochs in the "early" median (the first ones) and the "late" one (the last ones, the steady state).
constexpr size_t kEarlyEpochs = 5, kLateEpochs = 10;
/// late / early above this prints a WARNING line (compare_reference.sh and tiny_bags.sh use the same).
constexpr double kSlowdownWarning = 1.2;

/// Median of the first `n` (or all, when fewer) values.
double median_first(const std::vector<double>& v, size_t n) {
  return median({v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size()))});
}

/// Median of the last `n` (or all, when fewer) values.
double median_last(const std::vector<double>& v, size_t n) {
  return median({v.end() - static_cast<std::ptrdiff_t>(std::min(n, v.size())), v.end()});
}

/// configure_runtime (train/runtime.h) with subnormal floats flushed or
/// not, warning when asked to flush and they are not. Returns the threads in use.
int setup_runtime(int64_t threads, bool flush_denormal) {
  const int n = configure_runtime(threads, flush_denormal);
  if (flush_denormal && !subnormals_flushed())
    std::cerr << "abmil_bench: warning: this CPU cannot flush denormals; timing without\n";
  return n;
}

/// Peak resident set size of this process so far, MiB.
double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

/// Median seconds of 3 calls of `once` after one untimed warm-up call
/// (oneDNN primitive creation, first allocations).
template <typename F>
double median_seconds_after_warmup(F&& once) {
  once();
  std::vector<double> t;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = Clock::now();
    once();
    t.push_back(since(t0));
  }
  return median(t);
}

/// Seconds of LeNet-5 forward+backward over all rows of `x`, in batches of `batch`.
double lenet_pass_seconds(const torch::Tensor& x, int64_t batch) {
  torch::manual_seed(1);
  LeNet5 net;
  auto once = [&] {
    for (int64_t i = 0; i < x.size(0); i += batch) {
      net->zero_grad();
      net->forward(x.narrow(0, i, std::min(batch, x.size(0) - i))).sum().backward();
    }
  };
  return median_seconds_after_warmup(once);
}

/// Seconds of one pass of B=1 steps over the bags of `split` with nothing
/// but the kernels: per bag, the model's forward, the binary cross-entropy,
/// backward and a FusedAdam step (median of 3 passes after a warm-up pass).
/// The trainer adds the bag order, batching and bookkeeping to this.
double single_bag_step_seconds(const Config& cfg, const MilData& data) {
  torch::manual_seed(1);
  MilModel model(cfg.model, data.instance_shape);
  model->train();
  FusedAdam optimizer(model->parameters(), adam_options(cfg.train));
  const BagSplit& split = data.train;
  const torch::Tensor x = model_input(split, split.instances);
  std::vector<torch::Tensor> bags, labels;
  for (int64_t b = 0; b < split.num_bags(); ++b) {
    bags.push_back(x.slice(0, split.offsets[b], split.offsets[b + 1]));
    labels.push_back(torch::full({1}, static_cast<float>(split.bags[b].label)));
  }
  auto once = [&] {
    for (size_t b = 0; b < bags.size(); ++b) {
      optimizer.zero_grad();
      MilOutput out = model->forward(bags[b], torch::zeros({bags[b].size(0)}, torch::kLong), 1);
      torch::binary_cross_entropy_with_logits(out.bag_logits, labels[b]).backward();
      optimizer.step();
    }
  };
  return median_seconds_after_warmup(once);
}

int bench_mnist(const std::string& data_dir, int64_t threads, int64_t epochs, const std::vector<int64_t>& bs,
                int64_t train_bags, int64_t test_bags, bool dedupe, bool flush_denormal) {
  Config cfg;
  cfg.data.root = data_dir;
  cfg.data.train_bags = train_bags;
  cfg.data.test_bags = test_bags;
  cfg.data.validation_fraction = 0;  // time training on all 200 bags, as the reference does
  cfg.train.epochs = epochs;
  cfg.train.early_stopping.patience = 0;
  const int n_threads = setup_runtime(threads, flush_denormal);
  MilData data = load_mnist_bags(cfg.data, 1);
  std::cout << data.summary << "\n"
            << fmt::format("{} threads, {} epochs per B, flush denormals {}\n", n_threads, epochs,
                           flush_denormal ? "on" : "off");
  const double n_train = static_cast<double>(data.train.num_instances());

  nlohmann::json out = {{"impl", "abmil"},
                        {"threads", n_threads},
                        {"train_bags", train_bags},
                        {"train_instances", n_train},
                        {"test_bags", test_bags},
                        {"epochs", epochs},
                        {"flush_denormal", flush_denormal},
                        {"early_epochs", kEarlyEpochs},
                        {"late_epochs", kLateEpochs}};
  std::cout << fmt::format("{:>4} {:>10} {:>10} {:>11} {:>14} {:>10} {:>10}\n", "B", "early s", "late s", "late/early",
                           "instances/s", "eval s", "test AUC");
  std::vector<std::string> warnings;
  for (int64_t B : bs) {
    cfg.train.bags_per_step = B;
    torch::manual_seed(1);
    MilModel model(cfg.model, data.instance_shape);
    std::vector<double> epoch_seconds;  // every epoch, the first included
    fit(model, data, cfg, torch::kCPU, [&](const EpochLog& t, const EpochLog*) { epoch_seconds.push_back(t.seconds); });
    const auto t0 = Clock::now();
    BagPredictions test = predict(model, data.test, cfg.eval.max_instances_per_pass, torch::kCPU, dedupe);
    const double eval_s = since(t0);
    const double auc = classification_metrics(test.probabilities, test.labels).auc;
    const double early = median_first(epoch_seconds, kEarlyEpochs), late = median_last(epoch_seconds, kLateEpochs);
    const double after_first = median({epoch_seconds.begin() + (epoch_seconds.size() > 1), epoch_seconds.end()});
    std::cout << fmt::format("{:>4} {:>10.3f} {:>10.3f} {:>10.2f}x {:>14.0f} {:>10.3f} {:>10.4f}\n", B, early, late,
                             late / early, n_train / late, eval_s, auc);
    if (late > kSlowdownWarning * early)
      warnings.push_back(
          fmt::format("WARNING: B={}: late epochs are {:.2f}x the early ones (subnormal floats?)", B, late / early));
    out["runs"].push_back({{"bags_per_step", B},
                           {"epoch_s", epoch_seconds},
                           {"early_s", early},
                           {"late_s", late},
                           {"late_over_early", late / early},
                           {"epoch_s_median", after_first},  // all epochs but the first, as before
                           {"instances_per_s", n_train / late},
                           {"eval_s", eval_s},
                           {"test_auc", auc},
                           {"epochs_timed", epoch_seconds.size()}});
  }
  for (const std::string& w : warnings) std::cout << w << "\n";
  // Compute floor: the encoder's forward+backward over the same instances in large batches.
  double floor_s = 1e9;
  int64_t floor_batch = 0;
  for (int64_t batch : {64, 128, 256, 512, 2048}) {
    const double s = lenet_pass_seconds(data.train.instances, batch);
    std::cout << fmt::format("floor: LeNet-5 fwd+bwd of {} instances in batches of {}: {:.3f} s\n",
                             data.train.num_instances(), batch, s);
    if (s < floor_s) floor_s = s, floor_batch = batch;
  }
  out["floor_s"] = floor_s;
  out["floor_batch"] = floor_batch;
  const double step_floor_s = single_bag_step_seconds(cfg, data);
  std::cout << fmt::format("B=1 step floor: forward, loss, backward and Adam step per bag, {} bags: {:.3f} s\n",
                           data.train.num_bags(), step_floor_s);
  out["b1_step_floor_s"] = step_floor_s;
  out["peak_rss_mib"] = peak_rss_mib();
  std::cout << fmt::format("peak resident memory {:.0f} MiB\n", peak_rss_mib());
  std::cout << out.dump() << "\n";
  return 0;
}

int bench_large(int64_t instances, int64_t dim, int64_t threads, int64_t steps, bool flush_denormal,
                const std::string& pooling_name) {
  const int n_threads = setup_runtime(threads, flush_denormal);
  torch::manual_seed(1);
  MlpEncoder encoder(MlpEncoderOptions(dim).hidden_dims({128}));
  PoolingSpec spec;  // every model.* default but M = 128, L = 128
  spec.name = pooling_name;
  spec.embedding_dim = 128;
  spec.attention_dim = 128;
  const std::shared_ptr<MilPoolingImpl> pooling = make_pooling(spec);
  torch::nn::Linear classifier(pooling->output_dim(128), 1);
  std::vector<torch::Tensor> params = encoder->parameters();
  for (auto* m : std::initializer_list<torch::nn::Module*>{pooling.get(), classifier.ptr().get()})
    for (auto& p : m->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(5e-4));
  const torch::Tensor x = torch::randn({instances, dim});
  const torch::Tensor bag_index = torch::zeros({instances}, torch::kLong);
  const torch::Tensor label = torch::ones({1});
  std::vector<double> t;
  for (int64_t s = 0; s <= steps; ++s) {
    const auto t0 = Clock::now();
    opt.zero_grad();
    PoolingOutput p = pooling->forward(encoder->forward(x), bag_index, 1);
    torch::binary_cross_entropy_with_logits(classifier->forward(p.z).squeeze(1), label).backward();
    opt.step();
    if (s > 0) t.push_back(since(t0));  // step 0 is the warm-up
  }
  const nlohmann::json out = {{"bench", "large_bag"},           {"pooling", pooling_name},
                              {"instances", instances},         {"dim", dim},
                              {"threads", n_threads},           {"step_s_median", median(t)},
                              {"peak_rss_mib", peak_rss_mib()}, {"flush_denormal", flush_denormal}};
  std::cout << fmt::format(
                   "{}: one bag of {} x {} features: {:.4f} s per training step, peak resident memory {:.0f} MiB\n",
                   pooling_name, instances, dim, median(t), peak_rss_mib())
            << out.dump() << "\n";
  return 0;
}

/// The compute floor of an epoch on whole-slide features: CLAM_SB's
/// matmuls alone (fc D->512 + ReLU, gated attention 512->256 x2 + tanh /
/// sigmoid, scores 256->1) forward and backward over `instances` rows in
/// chunks of `chunk`, no softmax per bag, no optimizer, no reading.
int bench_features(int64_t instances, int64_t dim, int64_t threads, int64_t chunk, bool flush_denormal) {
  const int n_threads = configure_runtime(threads, flush_denormal);
  torch::manual_seed(1);
  torch::nn::Linear fc(dim, 512), a(512, 256), b(512, 256), c(256, 1);
  const torch::Tensor x = torch::randn({std::min(chunk, instances), dim}).relu();
  auto once = [&] {
    for (int64_t i = 0; i < instances; i += chunk) {
      const torch::Tensor xi = x.narrow(0, 0, std::min(chunk, instances - i));
      const torch::Tensor h = torch::relu(fc->forward(xi));
      c->forward(torch::tanh(a->forward(h)) * torch::sigmoid(b->forward(h))).sum().backward();
    }
  };
  const double seconds = median_seconds_after_warmup(once);
  const nlohmann::json out = {{"bench", "features_floor"}, {"instances", instances}, {"dim", dim},
                              {"chunk", chunk},            {"threads", n_threads},   {"seconds", seconds}};
  std::cout << fmt::format("fc {}->512 + gated attention 512->256, forward and backward over {} instances in chunks of "
                           "{}: {:.3f} s ({:.0f} instances/s)\n",
                           dim, instances, chunk, seconds, static_cast<double>(instances) / seconds)
            << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"abmil_bench: speed and memory figures of abmil"};
  app.require_subcommand(1);
  const char* env = std::getenv("ABMIL_DATA");
  std::string data_dir = env ? std::string(env) + "/mnist" : "";
  int64_t threads = 0, epochs = 30, train_bags = 200, test_bags = 1000, instances = 100000, dim = 1024, steps = 5;
  std::vector<int64_t> bs = {1, 2, 4, 8, 16, 32};
  bool no_dedupe = false, flush_denormal = true;
  const std::map<std::string, bool> on_off = {{"on", true}, {"off", false}};
  CLI::App* mnist = app.add_subcommand("mnist", "MNIST-bags paper setting: epoch time per B, evaluation, floor");
  mnist->add_option("--data", data_dir, "folder with the MNIST IDX files (default $ABMIL_DATA/mnist)");
  mnist->add_option("--threads", threads, "LibTorch threads (0 = all cores)");
  mnist->add_option("--epochs", epochs, "epochs per B, every one timed (early = median of 1-5, late = of the last 10)")
      ->check(CLI::PositiveNumber);
  mnist->add_option("--bags-per-step", bs, "values of B")->delimiter(',');
  mnist->add_option("--train-bags", train_bags);
  mnist->add_option("--test-bags", test_bags);
  mnist->add_flag("--no-dedupe", no_dedupe, "evaluate every instance draw, even repeated images");
  CLI::App* large = app.add_subcommand("large", "one large bag of feature vectors: step time and memory");
  large->add_option("--instances", instances, "K, instances in the bag");
  large->add_option("--dim", dim, "features per instance");
  large->add_option("--threads", threads, "LibTorch threads (0 = all cores)");
  large->add_option("--steps", steps, "timed training steps (after one warm-up step)");
  std::string pooling = "gated_attention";
  large->add_option("--pooling", pooling, "model.pooling (its model.* defaults, M = L = 128)");
  int64_t chunk = 8192;
  CLI::App* features =
      app.add_subcommand("features", "whole-slide features: the compute floor of an epoch (matmuls alone)");
  features->add_option("--instances", instances, "instances of the epoch");
  features->add_option("--dim", dim, "features per instance");
  features->add_option("--threads", threads, "LibTorch threads (0 = all cores)");
  features->add_option("--chunk", chunk, "rows per forward and backward pass")->check(CLI::PositiveNumber);
  for (CLI::App* sub : {mnist, large, features})
    sub->add_option("--flush-denormal", flush_denormal, "flush subnormal floats to zero: on (default) | off")
        ->transform(CLI::CheckedTransformer(on_off, CLI::ignore_case));
  CLI11_PARSE(app, argc, argv);
  try {
    if (*mnist) return bench_mnist(data_dir, threads, epochs, bs, train_bags, test_bags, !no_dedupe, flush_denormal);
    if (*features) return bench_features(instances, dim, threads, chunk, flush_denormal);
    return bench_large(instances, dim, threads, steps, flush_denormal, pooling);
  } catch (const std::exception& e) {
    std::cerr << "abmil_bench: error: " << e.what() << "\n";
    return 2;
  }
}
