// Training checkpoints that survive a crash: the whole state of fit() after
// an epoch, checksummed, written atomically, and the run directory's record
// of the newest good one.
//
//   RUN_DIR/checkpoints/epoch_NNNNNN.ckpt  the newest `keep` checkpoints
//   RUN_DIR/checkpoints/latest           name of the newest good checkpoint (one line)
//
// A checkpoint file is: 8 bytes "ABMILCKP", u32 format version, u64 payload
// length, u32 CRC-32 (zlib) of the payload, then the payload (a LibTorch
// archive); integers little-endian.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "abmil/train/trainer.h"

namespace abmil {

/// A checkpoint that cannot be used (truncated, checksum mismatch, wrong
/// format, or not matching the model); what() is one line naming the file.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Everything fit() needs to go on after `epoch` exactly as an uninterrupted
/// run would: weights, Adam moments and step count, early-stopping state,
/// both random number generators (bag order and LibTorch's CPU generator,
/// which drives dropout) and the epoch log.
struct TrainState {
  int64_t epoch = 0;                                           ///< epochs finished
  double best_loss = std::numeric_limits<double>::infinity();  ///< monitored loss of best_epoch, nats
  int64_t best_epoch = 0;
  int64_t epochs_without_improvement = 0;
  double train_seconds = 0;                        ///< wall time of the finished epochs
  std::vector<EpochLog> history;                   ///< metrics.csv rows so far
  std::string order_rng;                           ///< std::mt19937_64 state (operator<< text)
  torch::Tensor torch_rng;                         ///< LibTorch default CPU generator state (uint8)
  std::vector<torch::Tensor> weights;              ///< model parameters, then buffers (Module order)
  std::vector<torch::Tensor> best_weights;         ///< the same, at best_epoch
  std::vector<torch::Tensor> exp_avg, exp_avg_sq;  ///< Adam m and v, one per parameter
  int64_t adam_steps = 0;                          ///< Adam's t
};

/// The bytes of a checkpoint file holding `state` (format above).
std::string encode_checkpoint(const TrainState& state);

/// Reads the bytes of a checkpoint file. `name` is used in error messages.
/// Throws CheckpointError "NAME: truncated (N of M bytes)", "NAME: checksum
/// mismatch (corrupted)", "NAME: not an abmil checkpoint" etc.
TrainState decode_checkpoint(const std::string& bytes, const std::string& name);

/// Writes `state` to RUN_DIR/checkpoints/epoch_NNNNNN.ckpt atomically (temp
/// file, fsync, rename, fsync of the folder), then records it in
/// checkpoints/latest (atomically), then deletes all but the newest `keep`
/// checkpoint files and stray temp files. Throws std::runtime_error naming
/// the file on an I/O error; the previous checkpoints then stay.
void write_checkpoint(const std::filesystem::path& run_dir, const TrainState& state, int keep = 2);

/// The newest checkpoint of RUN_DIR that verifies: the one named by
/// checkpoints/latest first, then the other epoch_*.ckpt files, newest
/// first. Each rejected file is reported on `log` as one line ("NAME:
/// checksum mismatch (corrupted); trying an older one"). nullopt when no
/// checkpoint verifies (or there is none).
std::optional<TrainState> load_latest_checkpoint(const std::filesystem::path& run_dir, std::ostream& log);

}  // namespace abmil
