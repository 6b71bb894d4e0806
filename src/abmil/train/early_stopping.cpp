#include "abmil/train/early_stopping.h"

#include <stdexcept>
#include <string>

namespace abmil {

EarlyStopping::EarlyStopping(int64_t patience, double min_delta, int64_t start_epoch, EarlyStoppingState state)
    : patience_(patience), min_delta_(min_delta), start_epoch_(start_epoch), state_(state) {
  if (patience < 0 || min_delta < 0 || start_epoch < 0)
    throw std::invalid_argument("EarlyStopping: patience, min_delta and start_epoch must be >= 0 (got " +
                                std::to_string(patience) + ", " + std::to_string(min_delta) + ", " +
                                std::to_string(start_epoch) + ")");
}

EarlyStopping::Verdict EarlyStopping::observe(int64_t epoch, double loss) {
  if (epoch <= start_epoch_) return Verdict::warm_up;
  if (loss < state_.best_loss - min_delta_) {
    state_.best_loss = loss;
    state_.best_epoch = epoch;
    state_.epochs_without_improvement = 0;
    return Verdict::improved;
  }
  if (patience_ > 0 && ++state_.epochs_without_improvement >= patience_) return Verdict::stop;
  return Verdict::no_improvement;
}

bool EarlyStopping::should_stop() const { return patience_ > 0 && state_.epochs_without_improvement >= patience_; }

int64_t EarlyStopping::kept_epoch(int64_t last_epoch) const {
  return state_.best_epoch == 0 ? last_epoch : state_.best_epoch;
}

}  // namespace abmil
