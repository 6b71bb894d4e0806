#include "abmil/train/checkpoint.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <torch/serialize.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include "abmil/io/run_dir.h"

namespace abmil {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'A', 'B', 'M', 'I', 'L', 'C', 'K', 'P'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 4;
constexpr int kHistoryColumns = 13;  // epoch, loss, 6 metrics, 4 counts, seconds

template <typename T>
void put(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

template <typename T>
T get(const std::string& in, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return static_cast<T>(v);
}

uint32_t crc32_of(const char* data, size_t n) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

void write_tensors(torch::serialize::OutputArchive& a, const std::string& key, const std::vector<torch::Tensor>& ts) {
  a.write(key + "/count", torch::tensor(static_cast<int64_t>(ts.size())));
  for (size_t i = 0; i < ts.size(); ++i) a.write(fmt::format("{}/{}", key, i), ts[i].detach().cpu());
}

std::vector<torch::Tensor> read_tensors(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor count;
  a.read(key + "/count", count);
  std::vector<torch::Tensor> ts(static_cast<size_t>(count.item<int64_t>()));
  for (size_t i = 0; i < ts.size(); ++i) a.read(fmt::format("{}/{}", key, i), ts[i]);
  return ts;
}

std::string checkpoint_name(int64_t epoch) { return fmt::format("epoch_{:06d}.ckpt", epoch); }

/// epoch_NNNN.ckpt files of `dir`, newest epoch first.
std::vector<fs::path> checkpoint_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() == 17 && n.rfind("epoch_", 0) == 0 && n.substr(12) == ".ckpt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a > b; });
  return files;
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string encode_checkpoint(const TrainState& s) {
  torch::serialize::OutputArchive a;
  a.write("ints", torch::tensor({s.epoch, s.best_epoch, s.epochs_without_improvement, s.adam_steps}));
  a.write("doubles", torch::tensor({s.best_loss, s.train_seconds}, torch::kDouble));
  torch::Tensor history = torch::empty({static_cast<int64_t>(s.history.size()), kHistoryColumns}, torch::kDouble);
  std::string splits;
  auto h = history.accessor<double, 2>();
  for (size_t i = 0; i < s.history.size(); ++i) {
    const EpochLog& e = s.history[i];
    const ClassificationMetrics& m = e.metrics;
    const double row[kHistoryColumns] = {static_cast<double>(e.epoch),
                                         e.loss,
                                         m.accuracy,
                                         m.error,
                                         m.precision,
                                         m.recall,
                                         m.f1,
                                         m.auc,
                                         static_cast<double>(m.counts.tp),
                                         static_cast<double>(m.counts.fp),
                                         static_cast<double>(m.counts.tn),
                                         static_cast<double>(m.counts.fn),
                                         e.seconds};
    for (int c = 0; c < kHistoryColumns; ++c) h[static_cast<int64_t>(i)][c] = row[c];
    splits += e.split + "\n";
  }
  a.write("history", history);
  a.write("history_splits", c10::IValue(splits));
  a.write("order_rng", c10::IValue(s.order_rng));
  a.write("torch_rng", s.torch_rng.defined() ? s.torch_rng : torch::empty({0}, torch::kUInt8));
  write_tensors(a, "weights", s.weights);
  write_tensors(a, "best_weights", s.best_weights);
  write_tensors(a, "exp_avg", s.exp_avg);
  write_tensors(a, "exp_avg_sq", s.exp_avg_sq);
  std::ostringstream payload_stream;
  a.save_to(payload_stream);
  const std::string payload = payload_stream.str();

  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kVersion);
  put<uint64_t>(out, payload.size());
  put<uint32_t>(out, crc32_of(payload.data(), payload.size()));
  return out + payload;
}

TrainState decode_checkpoint(const std::string& bytes, const std::string& name) {
  if (bytes.size() < kHeaderBytes)
    throw CheckpointError(fmt::format("{}: truncated ({} bytes, header needs {})", name, bytes.size(), kHeaderBytes));
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw CheckpointError(name + ": not an abmil checkpoint (bad magic)");
  const uint32_t version = get<uint32_t>(bytes, 8);
  if (version != kVersion)
    throw CheckpointError(fmt::format("{}: checkpoint format {} (this abmil reads {})", name, version, kVersion));
  const uint64_t length = get<uint64_t>(bytes, 12);
  if (bytes.size() - kHeaderBytes != length)
    throw CheckpointError(
        fmt::format("{}: truncated ({} of {} payload bytes)", name, bytes.size() - kHeaderBytes, length));
  if (crc32_of(bytes.data() + kHeaderBytes, length) != get<uint32_t>(bytes, 20))
    throw CheckpointError(name + ": checksum mismatch (corrupted)");

  TrainState s;
  try {
    torch::serialize::InputArchive a;
    a.load_from(bytes.data() + kHeaderBytes, length);
    torch::Tensor ints, doubles, history, torch_rng;
    a.read("ints", ints);
    a.read("doubles", doubles);
    s.epoch = ints[0].item<int64_t>();
    s.best_epoch = ints[1].item<int64_t>();
    s.epochs_without_improvement = ints[2].item<int64_t>();
    s.adam_steps = ints[3].item<int64_t>();
    s.best_loss = doubles[0].item<double>();
    s.train_seconds = doubles[1].item<double>();
    a.read("history", history);
    c10::IValue splits, order_rng;
    a.read("history_splits", splits);
    a.read("order_rng", order_rng);
    s.order_rng = order_rng.toStringRef();
    std::istringstream split_lines(splits.toStringRef());
    auto h = history.accessor<double, 2>();
    for (int64_t i = 0; i < history.size(0); ++i) {
      EpochLog e;
      std::getline(split_lines, e.split);
      e.epoch = static_cast<int64_t>(h[i][0]);
      e.loss = h[i][1];
      ClassificationMetrics& m = e.metrics;
      m.accuracy = h[i][2], m.error = h[i][3], m.precision = h[i][4], m.recall = h[i][5], m.f1 = h[i][6];
      m.auc = h[i][7];
      m.counts = {static_cast<int64_t>(h[i][8]), static_cast<int64_t>(h[i][9]), static_cast<int64_t>(h[i][10]),
                  static_cast<int64_t>(h[i][11])};
      e.seconds = h[i][12];
      s.history.push_back(std::move(e));
    }
    a.read("torch_rng", torch_rng);
    if (torch_rng.numel() > 0) s.torch_rng = torch_rng;
    s.weights = read_tensors(a, "weights");
    s.best_weights = read_tensors(a, "best_weights");
    s.exp_avg = read_tensors(a, "exp_avg");
    s.exp_avg_sq = read_tensors(a, "exp_avg_sq");
  } catch (const c10::Error& e) {
    throw CheckpointError(name + ": unreadable archive: " + e.msg().substr(0, e.msg().find('\n')));
  }
  return s;
}

void write_checkpoint(const fs::path& run_dir, const TrainState& state, int keep) {
  const fs::path dir = run_dir / "checkpoints";
  const std::string name = checkpoint_name(state.epoch);
  write_file_atomic(dir / name, encode_checkpoint(state));
  fsync_dir(dir);
  write_file_atomic(dir / "latest", name + "\n");
  fsync_dir(dir);
  const std::vector<fs::path> files = checkpoint_files(dir);
  std::error_code ec;
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < files.size(); ++i) fs::remove(files[i], ec);
  for (const auto& e : fs::directory_iterator(dir, ec))  // temp files of a process killed mid-write
    if (e.path().filename().string().find(".tmp") != std::string::npos) fs::remove(e.path(), ec);
}

std::optional<TrainState> load_latest_checkpoint(const fs::path& run_dir, std::ostream& log) {
  const fs::path dir = run_dir / "checkpoints";
  std::vector<fs::path> candidates;
  {
    std::ifstream latest(dir / "latest");
    std::string name;
    if (latest && std::getline(latest, name) && !name.empty()) candidates.push_back(dir / name);
  }
  for (const fs::path& f : checkpoint_files(dir))
    if (candidates.empty() || f != candidates.front()) candidates.push_back(f);
  for (const fs::path& f : candidates) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      log << f.string() << ": named in checkpoints/latest but missing; trying an older one\n";
      continue;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      return decode_checkpoint(bytes, f.string());
    } catch (const CheckpointError& e) {
      log << e.what() << "; trying an older one\n";
    }
  }
  return std::nullopt;
}

}  // namespace abmil
