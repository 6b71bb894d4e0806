// Early stopping on a monitored loss (the validation loss, or the training
// loss without a validation split), with patience, a minimum improvement
// and a warm-up (Keras' EarlyStopping: patience, min_delta, start_from_epoch).
// No LibTorch here: the weights of the best epoch are the trainer's business.
#pragma once

#include <cstdint>
#include <limits>

namespace abmil {

/// What EarlyStopping remembers between epochs (saved in checkpoints).
struct EarlyStoppingState {
  double best_loss = std::numeric_limits<double>::infinity();  ///< monitored loss of best_epoch, nats
  int64_t best_epoch = 0;                                      ///< 0 = no epoch monitored yet
  int64_t epochs_without_improvement = 0;                      ///< monitored epochs since best_epoch
};

/// Decides after each epoch whether it is the new best and whether to stop.
/// An epoch improves when its loss < best_loss - min_delta (a tie is no
/// improvement: the earliest of equal losses stays best). Epochs up to
/// `start_epoch` are a warm-up: never best, never counted. With patience P >
/// 0 training stops after P monitored epochs in a row without improvement;
/// P = 0 never stops.
class EarlyStopping {
 public:
  /// What observe() decided for one epoch.
  enum class Verdict { warm_up, improved, no_improvement, stop };

  /// Throws std::invalid_argument for patience < 0, min_delta < 0 or start_epoch < 0.
  EarlyStopping(int64_t patience, double min_delta, int64_t start_epoch, EarlyStoppingState state = {});

  /// Records epoch `epoch` (1-based) with monitored loss `loss` (nats).
  Verdict observe(int64_t epoch, double loss);

  /// Whether the patience is used up (e.g. in a state restored from a checkpoint).
  bool should_stop() const;

  /// The epoch whose weights a run ending after `last_epoch` keeps: the best
  /// epoch, or `last_epoch` when no epoch was monitored (a run inside its warm-up).
  int64_t kept_epoch(int64_t last_epoch) const;

  const EarlyStoppingState& state() const { return state_; }

 private:
  int64_t patience_;
  double min_delta_;
  int64_t start_epoch_;
  EarlyStoppingState state_;
};

}  // namespace abmil
