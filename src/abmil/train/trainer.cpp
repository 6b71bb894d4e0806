#include "abmil/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <mutex>
#include <sstream>
#include <numeric>
#include <random>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "abmil/config/config.h"
#include "abmil/data/augment.h"
#include "abmil/train/early_stopping.h"
#include "abmil/train/adam.h"
#include "abmil/nn/transformer_pooling.h"
#include "abmil/train/checkpoint.h"

namespace abmil {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<double> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

/// The probabilities of bag logits into `p`: multi-label, C sigmoids; C > 2
/// outputs, their softmax (class_probabilities; probabilities = each row's
/// largest); one output, its sigmoid.
void set_probabilities(BagPredictions& p, const torch::Tensor& logits, bool multi_label) {
  p.multi_label = multi_label;
  if (multi_label || logits.dim() == 2) {
    const torch::Tensor z = logits.to(torch::kDouble);
    p.class_probabilities = multi_label ? torch::sigmoid(z) : torch::softmax(z, 1);
    p.probabilities = to_vector(std::get<0>(p.class_probabilities.max(1)));
  } else {
    p.probabilities = to_vector(torch::sigmoid(logits));
  }
}

/// Bag::targets of the bags at `positions` of `split`, [B, C] float64;
/// undefined when a bag has not C targets.
torch::Tensor targets_of(const BagSplit& split, const std::vector<int64_t>& positions, int64_t C) {
  std::vector<float> targets;
  for (int64_t pos : positions) {
    const Bag& bag = split.bags[pos];
    if (static_cast<int64_t>(bag.targets.size()) != C) return {};
    targets.insert(targets.end(), bag.targets.begin(), bag.targets.end());
  }
  return torch::tensor(targets, torch::kFloat).view({static_cast<int64_t>(positions.size()), C}).to(torch::kDouble);
}

/// The rows of a [B, C] tensor as B vectors of C values of `dtype` (T its C++ type).
template <typename T>
std::vector<std::vector<T>> tensor_rows(const torch::Tensor& t, torch::ScalarType dtype) {
  const torch::Tensor c = t.to(torch::kCPU, dtype).contiguous();
  std::vector<std::vector<T>> rows(c.size(0));
  const T* d = c.data_ptr<T>();
  for (int64_t b = 0; b < c.size(0); ++b) rows[b].assign(d + b * c.size(1), d + (b + 1) * c.size(1));
  return rows;
}

/// Groups consecutive bags of `split` into pooling groups of at most `bound`
/// instances (a bag larger than `bound` gets a group of its own).
std::vector<std::vector<int64_t>> pooling_groups(const BagSplit& split, int64_t bound) {
  std::vector<std::vector<int64_t>> groups;
  int64_t in_group = 0;
  for (int64_t b = 0; b < split.num_bags(); ++b) {
    const int64_t k = split.bags[b].size();
    if (groups.empty() || in_group + k > bound) {
      groups.emplace_back();
      in_group = 0;
    }
    groups.back().push_back(b);
    in_group += k;
  }
  return groups;
}

/// Instance embeddings H [N, M] of the bags at `positions`, N their total
/// size, with the encoder's inner attention [N, T] when it has one. Each
/// distinct source instance is encoded once (make_split copies row
/// source_indices[k], so equal sources hold equal data), in forward passes of
/// at most `chunk` instances (every instance when !deduplicate).
/// A streamed split's bags are read into `group_instances` (their instances
/// packed, the rows then count from 0) and never deduplicated: their source
/// indices number rows within each bag's own file.
EncoderOutput encode_bags(MilModel& model, const BagSplit& split, const std::vector<int64_t>& positions, int64_t chunk,
                          torch::Device device, bool deduplicate, const torch::Tensor& group_instances = {}) {
  const bool streamed = group_instances.defined();
  const torch::Tensor& stored = streamed ? group_instances : split.instances;
  if (streamed) deduplicate = false;
  std::vector<int64_t> rows, inverse;  // rows: one split row per distinct source; inverse: instance -> rows slot
  int64_t packed = 0;                  // streamed: row of the bag's first instance in group_instances
  std::unordered_map<int64_t, int64_t> slot_of_source;
  for (int64_t p : positions) {
    const Bag& bag = split.bags[p];
    for (int64_t k = 0; k < bag.size(); ++k) {
      const int64_t key = deduplicate ? bag.source_indices[k] : -1 - static_cast<int64_t>(inverse.size());
      auto [it, fresh] = slot_of_source.try_emplace(key, static_cast<int64_t>(rows.size()));
      if (fresh) rows.push_back((streamed ? packed : split.offsets[p]) + k);
      inverse.push_back(it->second);
    }
    packed += bag.size();
  }
  const torch::Tensor row_index = torch::tensor(rows, torch::kLong);
  std::vector<torch::Tensor> parts, inner_parts;
  for (int64_t begin = 0; begin < row_index.size(0); begin += chunk) {
    const torch::Tensor x =
        stored.index_select(0, row_index.narrow(0, begin, std::min(chunk, row_index.size(0) - begin)));
    EncoderOutput e = model->encoder->encode(model_input(split, x).to(device));
    parts.push_back(e.H);
    if (e.inner_attention.defined()) inner_parts.push_back(e.inner_attention);
  }
  const torch::Tensor index = torch::tensor(inverse, torch::kLong).to(device);
  auto gather = [&](const std::vector<torch::Tensor>& p) {
    return (p.size() == 1 ? p[0] : torch::cat(p, 0)).index_select(0, index);
  };
  EncoderOutput out{gather(parts), {}};
  if (!inner_parts.empty()) out.inner_attention = gather(inner_parts);
  return out;
}

/// Every parameter, then every buffer, of `m` (the tensors themselves, not copies).
std::vector<torch::Tensor> module_tensors(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out = m.parameters();
  for (const auto& b : m.buffers()) out.push_back(b);
  return out;
}

/// Copies of every parameter and buffer, to restore the best epoch.
std::vector<torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& t : module_tensors(m)) out.push_back(t.detach().clone());
  return out;
}

void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : m.parameters()) p.copy_(saved[i++]);
  for (auto& b : m.buffers()) b.copy_(saved[i++]);
}

/// Throws CheckpointError unless `saved` matches `current` tensor by tensor in shape.
void check_same_shapes(const std::vector<torch::Tensor>& current, const std::vector<torch::Tensor>& saved,
                       const char* what) {
  if (current.size() != saved.size())
    throw CheckpointError(fmt::format("checkpoint does not match the model: {} {} tensors, the model has {}",
                                      saved.size(), what, current.size()));
  for (size_t i = 0; i < current.size(); ++i)
    if (current[i].sizes() != saved[i].sizes())
      throw CheckpointError(fmt::format("checkpoint does not match the model: {} tensor {} has shape {}, the model {}",
                                        what, i, fmt::join(saved[i].sizes(), "x"), fmt::join(current[i].sizes(), "x")));
}

/// restore() after checking that `saved` fits the model.
void restore_checked(torch::nn::Module& m, const std::vector<torch::Tensor>& saved, const char* what) {
  check_same_shapes(module_tensors(m), saved, what);
  restore(m, saved);
}

/// A one-line progress bar on stderr, redrawn in place.
void draw_progress(int64_t epoch, int64_t done, int64_t total, double seconds) {
  const int width = 30;
  const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
  std::fprintf(stderr, "\repoch %lld [%.*s%*s] %lld/%lld bags %.1fs", static_cast<long long>(epoch), filled,
               "##############################", width - filled, "", static_cast<long long>(done),
               static_cast<long long>(total), seconds);
  std::fflush(stderr);
}

}  // namespace

BagPredictions predict(MilModel& model, const BagSplit& split, int64_t chunk, torch::Device device, bool deduplicate) {
  torch::NoGradGuard no_grad;
  model->eval();
  BagPredictions out;
  std::vector<torch::Tensor> logits, attention, attention_logits, branch_attention, instance_logits, inner_attention,
      head_attention, bag_embeddings;
  const auto groups = pooling_groups(split, kPoolingGroupInstances);
  // A streamed split: group g + 1 is read in the background while group g computes.
  auto read_group = [&split](const std::vector<int64_t>& group) {
    std::vector<torch::Tensor> parts;
    for (int64_t p : group) parts.push_back(bag_instances(split, p));
    return parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
  };
  std::future<torch::Tensor> next;
  if (split.streamed() && !groups.empty()) next = std::async(std::launch::async, read_group, groups[0]);
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& group = groups[g];
    torch::Tensor group_instances;
    if (split.streamed()) {
      group_instances = next.get();
      if (g + 1 < groups.size()) next = std::async(std::launch::async, read_group, groups[g + 1]);
    }
    const EncoderOutput e = encode_bags(model, split, group, chunk, device, deduplicate, group_instances);
    const torch::Tensor& H = e.H;
    if (e.inner_attention.defined()) inner_attention.push_back(e.inner_attention.cpu());
    std::vector<int64_t> bag_index;
    for (size_t b = 0; b < group.size(); ++b) bag_index.insert(bag_index.end(), split.bags[group[b]].size(), b);
    MilOutput o = model->forward_embeddings(H, torch::tensor(bag_index, torch::kLong).to(device),
                                            static_cast<int64_t>(group.size()));
    logits.push_back(o.bag_logits.cpu());
    if (o.attention.defined()) {
      attention.push_back(o.attention.cpu());
      attention_logits.push_back(o.attention_logits.cpu());
    }
    if (o.branch_attention.defined()) branch_attention.push_back(o.branch_attention.cpu());
    if (o.instance_logits.defined()) instance_logits.push_back(o.instance_logits.cpu());
    if (o.head_attention.defined()) head_attention.push_back(o.head_attention.cpu());
    if (o.bag_embedding.defined()) bag_embeddings.push_back(o.bag_embedding.cpu());
  }
  if (logits.empty()) return out;
  torch::Tensor all_logits = torch::cat(logits);
  std::vector<float> labels;
  bool labelled = true;
  for (const Bag& bag : split.bags) {
    out.labels.push_back(bag.label);
    labels.push_back(static_cast<float>(bag.label));
    labelled = labelled && bag.label >= 0;
  }
  set_probabilities(out, all_logits, model->multi_label);
  if (model->multi_label) {  // C independent sigmoids against Bag::targets
    std::vector<int64_t> all(static_cast<size_t>(split.num_bags()));
    std::iota(all.begin(), all.end(), int64_t{0});
    const torch::Tensor targets = targets_of(split, all, all_logits.size(1));
    labelled = labelled && targets.defined();
    if (labelled) out.targets = targets;
    out.loss = labelled ? bag_loss(all_logits, out.targets.to(torch::kFloat)).item<double>() : std::nan("");
  } else {
    out.loss = labelled ? bag_loss(all_logits, torch::tensor(labels)).item<double>() : std::nan("");
  }
  if (!attention.empty()) {
    out.attention = torch::cat(attention);
    out.attention_logits = torch::cat(attention_logits);
  }
  if (!branch_attention.empty()) out.branch_attention = torch::cat(branch_attention);
  if (!instance_logits.empty()) out.instance_probabilities = torch::sigmoid(torch::cat(instance_logits));
  if (!inner_attention.empty()) out.inner_attention = torch::cat(inner_attention);
  if (!head_attention.empty()) {
    out.head_attention = torch::cat(head_attention);
    out.head_column = model->pooling->head_column();
  }
  if (!bag_embeddings.empty()) out.bag_embeddings = torch::cat(bag_embeddings);
  return out;
}

torch::Tensor bag_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& class_weights) {
  if (logits.dim() == 1) {
    const torch::Tensor y = labels.to(logits.device(), logits.scalar_type());
    if (!class_weights.defined()) return torch::binary_cross_entropy_with_logits(logits, y);
    const torch::Tensor w = class_weights.to(logits.device(), logits.scalar_type()).index_select(0, y.to(torch::kLong));
    return (torch::binary_cross_entropy_with_logits(logits, y, w, {}, at::Reduction::None)).sum() / w.sum();
  }
  if (labels.dim() == 2) {  // multi-label: [B, C] 0/1
    if (class_weights.defined())
      throw std::invalid_argument("bag_loss: class weights are for single-label classes, not multi-label targets");
    return torch::binary_cross_entropy_with_logits(logits, labels.to(logits.device(), logits.scalar_type()));
  }
  auto options = torch::nn::functional::CrossEntropyFuncOptions();
  if (class_weights.defined()) options.weight(class_weights.to(logits.device(), logits.scalar_type()));
  return torch::nn::functional::cross_entropy(logits, labels.to(logits.device(), torch::kLong), options);
}

ClassificationMetrics prediction_metrics(const BagPredictions& p, double threshold) {
  if (!p.class_probabilities.defined()) return classification_metrics(p.probabilities, p.labels, threshold);
  ClassificationMetrics m;
  if (p.multi_label) {
    m.accuracy = m.error = m.precision = m.recall = m.f1 = m.auc = std::nan("");
    if (!p.targets.defined() || p.labels.empty()) return m;
    const MultilabelMetrics ml =
        multilabel_metrics(class_probability_rows(p.class_probabilities), target_rows(p.targets), threshold);
    m.accuracy = ml.exact_match;
    m.error = 1 - ml.exact_match;
    m.f1 = ml.macro_f1;
    m.auc = ml.macro_auc;
    return m;
  }
  if (p.labels.empty() || std::any_of(p.labels.begin(), p.labels.end(), [](int y) { return y < 0; })) {
    m.accuracy = m.error = m.precision = m.recall = m.f1 = m.auc = std::nan("");
    return m;
  }
  const MulticlassMetrics mc = multiclass_metrics(class_probability_rows(p.class_probabilities), p.labels);
  m.accuracy = mc.accuracy;
  m.error = mc.error;
  m.precision = mc.macro_precision;
  m.recall = mc.macro_recall;
  m.f1 = mc.macro_f1;
  m.auc = mc.macro_auc;
  return m;
}

std::vector<std::vector<int>> target_rows(const torch::Tensor& targets) {
  return tensor_rows<int>(targets, torch::kInt);
}

std::vector<std::vector<double>> class_probability_rows(const torch::Tensor& class_probabilities) {
  return tensor_rows<double>(class_probabilities, torch::kDouble);
}

namespace {

/// Per positive bag with instance labels: the instances' weights and labels.
void positive_bags(const BagSplit& split, const torch::Tensor& weights, std::vector<std::vector<double>>& w_out,
                   std::vector<std::vector<int>>& y_out) {
  const std::vector<double> w = to_vector(weights);
  for (int64_t b = 0; b < split.num_bags(); ++b) {
    const Bag& bag = split.bags[b];
    if (bag.label <= 0 || bag.instance_labels.size() != static_cast<size_t>(bag.size())) continue;
    w_out.emplace_back(w.begin() + split.offsets[b], w.begin() + split.offsets[b + 1]);
    y_out.push_back(bag.instance_labels);
  }
}

/// Appends the weights `w` and labels `y` of one bag's instances whose label is known (y >= 0).
void append_known(const std::vector<double>& w, const std::vector<int>& y, std::vector<double>& scores,
                  std::vector<int>& labels) {
  for (size_t k = 0; k < w.size(); ++k)
    if (y[k] >= 0) {
      scores.push_back(w[k]);
      labels.push_back(y[k]);
    }
}

}  // namespace

double instance_auc(const BagSplit& split, const torch::Tensor& weights) {
  if (!weights.defined()) return std::nan("");
  std::vector<std::vector<double>> w;
  std::vector<std::vector<int>> y;
  positive_bags(split, weights, w, y);
  std::vector<double> scores;
  std::vector<int> labels;
  for (size_t b = 0; b < w.size(); ++b) append_known(w[b], y[b], scores, labels);
  return roc_auc(scores, labels);
}

double instance_auc_per_bag(const BagSplit& split, const torch::Tensor& weights) {
  if (!weights.defined()) return std::nan("");
  std::vector<std::vector<double>> w;
  std::vector<std::vector<int>> y;
  positive_bags(split, weights, w, y);
  double sum = 0;
  int bags = 0;
  for (size_t b = 0; b < w.size(); ++b) {
    std::vector<double> scores;
    std::vector<int> labels;
    append_known(w[b], y[b], scores, labels);
    const double auc = roc_auc(scores, labels);
    if (std::isfinite(auc)) {
      sum += auc;
      ++bags;
    }
  }
  return bags > 0 ? sum / bags : std::nan("");
}

torch::Tensor true_class_branch(const BagSplit& split, const torch::Tensor& branch_attention) {
  if (branch_attention.dim() != 2 || branch_attention.size(0) != split.num_instances())
    throw std::invalid_argument(fmt::format("true_class_branch: branch attention of shape [{}], the split has {} instances",
                                            fmt::join(branch_attention.sizes(), ", "), split.num_instances()));
  std::vector<int64_t> column(static_cast<size_t>(split.num_instances()));
  for (int64_t b = 0; b < split.num_bags(); ++b) {
    const int64_t c = std::max(split.bags[b].label, 0);
    if (c >= branch_attention.size(1))
      throw std::invalid_argument(fmt::format("true_class_branch: bag {} has label {}, the model {} branches",
                                              split.bags[b].id, c, branch_attention.size(1)));
    std::fill(column.begin() + split.offsets[b], column.begin() + split.offsets[b + 1], c);
  }
  return branch_attention.gather(1, torch::tensor(column, torch::kLong).unsqueeze(1)).squeeze(1);
}

TopKMetrics instance_top_k(const BagSplit& split, const torch::Tensor& weights, int64_t k) {
  std::vector<std::vector<double>> w;
  std::vector<std::vector<int>> y;
  if (weights.defined()) positive_bags(split, weights, w, y);
  return top_k_instances(w, y, k);
}

TrainResult fit(MilModel& model, const MilData& data, const Config& config, torch::Device device,
                const EpochCallback& on_epoch, bool show_progress) {
  FitOptions options;
  options.on_epoch = on_epoch;
  options.show_progress = show_progress;
  return fit(model, data, config, device, options);
}

void check_trainable(const Config& config, const MilData& data) {
  if (data.multi_label && config.train.class_balance != "none")
    throw std::invalid_argument("train.class_balance " + config.train.class_balance +
                                " balances single-label classes; multi-label data (data.multi_label) takes none");
  if (data.multi_label && config.model.instance_loss != "none")
    throw std::invalid_argument("model.instance_loss " + config.model.instance_loss +
                                " trains one class per bag; multi-label data (data.multi_label) takes none");
  if (config.model.pooling == "transformer") {  // exact self-attention: refuse a bag over the memory limit now
    const int64_t limit =
        transformer_max_instances(config.model.heads, config.model.layers, config.model.transformer_memory_mib);
    for (const BagSplit* split : {&data.train, &data.validation, &data.test})
      for (const Bag& bag : split->bags)
        if (bag.size() > limit)
          throw std::invalid_argument(fmt::format(
              "model.pooling transformer: bag '{}' has {} instances, over the limit of {} for exact self-attention "
              "with model.heads {} and model.layers {} in model.transformer_memory_mib {} MiB; use model.layers 1, "
              "raise model.transformer_memory_mib, or a pooling without the K^2 term (gated_attention, pma, dsmil)",
              bag.name.empty() ? std::to_string(bag.id) : bag.name, bag.size(), limit, config.model.heads,
              config.model.layers, config.model.transformer_memory_mib));
  }
}

AdamOptions adam_options(const TrainConfig& tc) {
  AdamOptions adam;
  adam.lr = tc.optimizer.lr;
  adam.beta1 = tc.optimizer.betas.at(0);
  adam.beta2 = tc.optimizer.betas.at(1);
  adam.weight_decay = tc.optimizer.weight_decay;
  return adam;
}

namespace {

/// The augmentation of the training instances: data.augment for uint8
/// image patches, none for every other kind of instance.
PatchAugmentation augmentation_for(const BagSplit& train, const Config& config) {
  PatchAugmentation augmentation;
  if (train.instances.defined() && train.instances.scalar_type() == torch::kUInt8) {
    augmentation.rotate_flip = config.data.augment.rotate_flip;
    augmentation.he_jitter_std = config.data.augment.he_jitter_std;
  }
  return augmentation;
}

/// Sets the model, Adam and both random number generators from a
/// checkpoint's state, after checking every shape. Throws CheckpointError
/// when `r` does not fit the model.
void restore_train_state(MilModel& model, FusedAdam& optimizer, std::mt19937_64& order_rng, const TrainState& r) {
  restore_checked(*model, r.weights, "weights");
  check_same_shapes(module_tensors(*model), r.best_weights, "best weights");
  check_same_shapes(optimizer.exp_avg(), r.exp_avg, "Adam moments");
  check_same_shapes(optimizer.exp_avg_sq(), r.exp_avg_sq, "Adam moments");
  for (size_t i = 0; i < r.exp_avg.size(); ++i) {
    optimizer.exp_avg()[i].copy_(r.exp_avg[i]);
    optimizer.exp_avg_sq()[i].copy_(r.exp_avg_sq[i]);
  }
  optimizer.set_steps_taken(r.adam_steps);
  std::istringstream rng_text(r.order_rng);
  rng_text >> order_rng;
  if (r.torch_rng.defined()) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(r.torch_rng);
  }
}

/// Copies the model, Adam and both random number generators into `state`
/// (its epoch, log and early-stopping fields are the caller's).
void capture_train_state(MilModel& model, FusedAdam& optimizer, const std::mt19937_64& order_rng, TrainState& state) {
  std::ostringstream rng_text;
  rng_text << order_rng;
  state.order_rng = rng_text.str();
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    state.torch_rng = gen.get_state();
  }
  state.weights = snapshot(*model);
  state.exp_avg = optimizer.exp_avg();
  state.exp_avg_sq = optimizer.exp_avg_sq();
  state.adam_steps = optimizer.steps_taken();
}

/// Everything one training epoch needs besides the model.
struct EpochContext {
  const BagSplit& train;
  const Config& config;
  torch::Device device;
  PatchAugmentation augmentation;
  bool show_progress;
  torch::Tensor class_weights;        ///< [C] train.class_balance loss_weights; else undefined
  std::vector<double> sample_weights;  ///< per training bag: train.class_balance sampler; else empty
};

/// Per class c of the training labels: N / (C N_c) (0 for a class without
/// bags), the "balanced" weights of scikit-learn and of CLAM's sampler.
std::vector<double> balanced_class_weights(const BagSplit& train, int64_t classes) {
  std::vector<double> count(static_cast<size_t>(classes), 0.0), w(static_cast<size_t>(classes), 0.0);
  for (const Bag& bag : train.bags)
    if (bag.label >= 0 && bag.label < classes) count[bag.label] += 1;
  for (int64_t c = 0; c < classes; ++c)
    if (count[c] > 0) w[c] = static_cast<double>(train.num_bags()) / (static_cast<double>(classes) * count[c]);
  return w;
}

/// One optimizer step on the batch of `positions`; returns the batch's mean
/// loss and its detached bag logits. Throws TrainingDiverged naming epoch and
/// step on a non-finite loss or gradient.
std::pair<double, torch::Tensor> train_step(MilModel& model, FusedAdam& optimizer, const EpochContext& c,
                                            BagBatch batch, int64_t epoch, int64_t step, int64_t steps) {
  const bool augment = c.augmentation.rotate_flip || c.augmentation.he_jitter_std > 0;
  optimizer.zero_grad();
  const torch::Tensor x =
      model_input(c.train, augment ? augment_patches(batch.instances, c.augmentation) : batch.instances);
  const torch::Tensor bag_index = batch.bag_index.to(c.device);
  MilOutput out = model->forward(x.to(c.device), bag_index, batch.num_bags());
  torch::Tensor loss = bag_loss(out.bag_logits, batch.labels.to(c.device), c.class_weights);
  if (model->instance_k > 0) {  // CLAM: (1 - c) bag loss + c instance clustering loss
    const double w = c.config.model.instance_loss_weight;
    loss = (1 - w) * loss + w * model->instance_clustering_loss(out, bag_index, batch.labels);
  }
  if (out.max_instance_logits.defined()) {  // DSMIL: (1 - c) bag loss + c max-instance loss
    const double w = c.config.model.max_instance_loss_weight;
    loss = (1 - w) * loss + w * bag_loss(out.max_instance_logits, batch.labels.to(c.device), c.class_weights);
  }
  const double loss_value = loss.item<double>();
  if (!std::isfinite(loss_value))
    throw TrainingDiverged(fmt::format("training diverged: non-finite loss ({}) at epoch {}, step {} of {}", loss_value,
                                       epoch, step, steps));
  loss.backward();
  if (!optimizer.step())
    throw TrainingDiverged(
        fmt::format("training diverged: non-finite gradient at epoch {}, step {} of {}", epoch, step, steps));
  return {loss_value, out.bag_logits.detach().cpu()};
}

/// The bag order of one epoch: a shuffle of the training bags, or with
/// sampler weights N draws with replacement, P(bag) proportional to its
/// weight (inverse CDF of a 53-bit uniform from `rng`: the same draws on
/// every standard library).
std::vector<int64_t> epoch_order(const EpochContext& c, std::mt19937_64& rng) {
  std::vector<int64_t> order(c.train.num_bags());
  if (c.sample_weights.empty()) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    return order;
  }
  std::vector<double> cdf(c.sample_weights.size());
  std::partial_sum(c.sample_weights.begin(), c.sample_weights.end(), cdf.begin());
  for (int64_t& o : order) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * cdf.back();
    o = std::min<int64_t>(static_cast<int64_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin()),
                          static_cast<int64_t>(cdf.size()) - 1);
  }
  return order;
}

/// One pass over the training bags in a fresh order from `order_rng`,
/// train.bags_per_step bags per step; returns the epoch's train row.
EpochLog train_epoch(MilModel& model, FusedAdam& optimizer, std::mt19937_64& order_rng, const EpochContext& c,
                     int64_t epoch) {
  const auto t0 = Clock::now();
  const size_t B = static_cast<size_t>(c.config.train.bags_per_step);
  model->train();
  const std::vector<int64_t> order = epoch_order(c, order_rng);
  std::vector<torch::Tensor> logits;
  std::vector<int> labels(order.size());
  double loss_sum = 0;
  const int64_t steps = static_cast<int64_t>((order.size() + B - 1) / B);
  auto batch_at = [&](size_t start) {
    return make_batch(c.train,
                      std::vector<int64_t>(order.begin() + start, order.begin() + std::min(order.size(), start + B)));
  };
  // A streamed split: the next step's bags are read in the background while this step computes.
  std::future<BagBatch> next;
  if (c.train.streamed() && !order.empty()) next = std::async(std::launch::async, batch_at, 0);
  for (size_t start = 0, step = 1; start < order.size(); start += B, ++step) {
    BagBatch batch = c.train.streamed() ? next.get() : batch_at(start);
    if (c.train.streamed() && start + B < order.size()) next = std::async(std::launch::async, batch_at, start + B);
    const std::vector<int64_t> positions = batch.positions;
    auto [loss, step_logits] = train_step(model, optimizer, c, std::move(batch), epoch, step, steps);
    logits.push_back(step_logits);
    loss_sum += loss * static_cast<double>(positions.size());
    for (size_t i = 0; i < positions.size(); ++i) labels[start + i] = c.train.bags[positions[i]].label;
    if (c.show_progress)
      draw_progress(epoch, static_cast<int64_t>(start + positions.size()), static_cast<int64_t>(order.size()),
                    seconds_since(t0));
  }
  if (c.show_progress) std::fprintf(stderr, "\r\033[K");
  BagPredictions p;
  p.labels = labels;
  if (!logits.empty()) {
    const torch::Tensor all = torch::cat(logits);
    set_probabilities(p, all, model->multi_label);
    if (model->multi_label) p.targets = targets_of(c.train, order, all.size(1));
  }
  return {epoch, "train", loss_sum / std::max<size_t>(1, order.size()),
          prediction_metrics(p, c.config.eval.threshold), seconds_since(t0)};
}

/// The validation row of `epoch`: the model evaluated on `validation`.
EpochLog validation_epoch(MilModel& model, const BagSplit& validation, const Config& config, torch::Device device,
                          int64_t epoch) {
  const auto t0 = Clock::now();
  BagPredictions val = predict(model, validation, config.eval.max_instances_per_pass, device);
  return {epoch, "validation", val.loss, prediction_metrics(val, config.eval.threshold), seconds_since(t0)};
}

}  // namespace

TrainResult fit(MilModel& model, const MilData& data, const Config& config, torch::Device device,
                const FitOptions& options) {
  const TrainConfig& tc = config.train;
  check_trainable(config, data);
  FusedAdam optimizer(model->parameters(), adam_options(tc));
  std::seed_seq order_seq{static_cast<uint64_t>(config.experiment.seed), uint64_t{4}};
  std::mt19937_64 order_rng(order_seq);
  const bool has_validation = data.validation.num_bags() > 0;
  EpochContext context{data.train, config, device, augmentation_for(data.train, config), options.show_progress, {}, {}};
  if (tc.class_balance != "none") {
    const std::vector<double> w = balanced_class_weights(data.train, std::max<int64_t>(2, data.num_outputs()));
    if (tc.class_balance == "loss_weights")
      context.class_weights = torch::tensor(w, torch::kDouble).to(torch::kFloat);
    if (tc.class_balance == "sampler")
      for (const Bag& bag : data.train.bags) context.sample_weights.push_back(w.at(static_cast<size_t>(bag.label)));
  }

  TrainState state;  // the early-stopping state and log, as a checkpoint holds them
  if (options.resume) {
    restore_train_state(model, optimizer, order_rng, *options.resume);
    state = *options.resume;
  } else {
    state.best_weights = snapshot(*model);
  }
  EarlyStopping stopping(tc.early_stopping.patience, tc.early_stopping.min_delta, tc.early_stopping.start_epoch,
                         {state.best_loss, state.best_epoch, state.epochs_without_improvement});
  const double seconds_before = state.train_seconds;
  const auto t_train = Clock::now();

  bool stopped = options.resume && stopping.should_stop();
  for (int64_t epoch = state.epoch + 1; !stopped && epoch <= tc.epochs; ++epoch) {
    const EpochLog train_log = train_epoch(model, optimizer, order_rng, context, epoch);
    state.history.push_back(train_log);
    EpochLog val_log;
    if (has_validation) {
      val_log = validation_epoch(model, data.validation, config, device, epoch);
      state.history.push_back(val_log);
    }
    state.epoch = epoch;
    if (options.on_epoch) options.on_epoch(train_log, has_validation ? &val_log : nullptr);

    const auto verdict = stopping.observe(epoch, has_validation ? val_log.loss : train_log.loss);
    const bool improved = verdict == EarlyStopping::Verdict::improved;
    stopped = verdict == EarlyStopping::Verdict::stop;
    state.best_loss = stopping.state().best_loss;
    state.best_epoch = stopping.state().best_epoch;
    state.epochs_without_improvement = stopping.state().epochs_without_improvement;
    if (improved) state.best_weights = snapshot(*model);
    if (options.on_checkpoint && !stopped && epoch < tc.epochs &&
        (improved || (tc.checkpoint_every > 0 && epoch % tc.checkpoint_every == 0))) {
      state.train_seconds = seconds_before + seconds_since(t_train);
      capture_train_state(model, optimizer, order_rng, state);
      options.on_checkpoint(state);
    }
  }
  // No monitored epoch (the run ended within the warm-up): keep the last weights.
  if (state.best_epoch == 0)
    state.best_epoch = stopping.kept_epoch(state.epoch);
  else
    restore(*model, state.best_weights);
  TrainResult result;
  result.history = state.history;
  result.epochs_run = state.epoch;
  result.best_epoch = state.best_epoch;
  result.stopped_early = stopped;
  result.train_seconds = seconds_before + seconds_since(t_train);
  return result;
}

}  // namespace abmil
