#include "abmil/io/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <fmt/format.h>
#include <stdexcept>

#include "abmil/data/bag.h"
#include "abmil/train/trainer.h"

namespace abmil {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::string& content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + fmt::format(".tmp{}", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(errno)));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(err)));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(err)));
  }
}

fs::path create_run_dir(const std::string& requested, const std::string& name) {
  if (!requested.empty()) {
    const fs::path dir(requested);
    if (fs::exists(dir) && (!fs::is_directory(dir) || !fs::is_empty(dir)))
      throw std::runtime_error(requested + ": output directory exists and is not empty (choose another --output)");
    fs::create_directories(dir);
    return dir;
  }
  fs::path dir = fs::path("runs") / name;
  for (int i = 2; fs::exists(dir); ++i) dir = fs::path("runs") / fmt::format("{}-{}", name, i);
  fs::create_directories(dir);
  return dir;
}

namespace {

/// `{:.6f}` of a metric, empty for NaN (undefined AUC).
std::string num(double v) { return std::isnan(v) ? "" : fmt::format("{:.6f}", v); }

}  // namespace

std::string metrics_csv(const std::vector<EpochLog>& history) {
  std::string out = "epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds\n";
  for (const EpochLog& e : history) {
    const auto& m = e.metrics;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{:.3f}\n", e.epoch, e.split, num(e.loss), num(m.accuracy),
                       num(m.error), num(m.precision), num(m.recall), num(m.f1), num(m.auc), e.seconds);
  }
  return out;
}

std::string predictions_csv(const BagSplit& split, const BagPredictions& p) {
  std::string out = "bag_id,bag_label,bag_probability,instances\n";
  for (int64_t b = 0; b < split.num_bags(); ++b)
    out += fmt::format("{},{},{:.8g},{}\n", split.bags[b].id, split.bags[b].label, p.probabilities[b],
                       split.bags[b].size());
  return out;
}

std::string attention_csv(const BagSplit& split, const BagPredictions& p) {
  std::string out =
      "bag_id,instance_index,source_index,instance_label,attention_weight,attention_logit,"
      "instance_probability,bag_label,bag_probability\n";
  auto column = [](const torch::Tensor& t) {
    return t.defined() ? t.to(torch::kCPU, torch::kDouble).contiguous() : torch::Tensor();
  };
  const torch::Tensor a = column(p.attention), s = column(p.attention_logits), q = column(p.instance_probabilities);
  auto cell = [](const torch::Tensor& t, int64_t row) {
    return t.defined() ? fmt::format("{:.8g}", t.data_ptr<double>()[row]) : std::string();
  };
  for (int64_t b = 0; b < split.num_bags(); ++b) {
    const Bag& bag = split.bags[b];
    for (int64_t k = 0; k < bag.size(); ++k) {
      const int64_t row = split.offsets[b] + k;
      const int y = k < static_cast<int64_t>(bag.instance_labels.size()) ? bag.instance_labels[k] : -1;
      out += fmt::format("{},{},{},{},{},{},{},{},{:.8g}\n", bag.id, k, bag.source_indices[k],
                         y < 0 ? std::string() : std::to_string(y), cell(a, row), cell(s, row), cell(q, row),
                         bag.label, p.probabilities[b]);
    }
  }
  return out;
}

std::string token_attention_csv(const BagSplit& split, const BagPredictions& p) {
  if (!p.inner_attention.defined()) throw std::invalid_argument("token_attention_csv: the model has no inner attention");
  const torch::Tensor w = p.inner_attention.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor ids = split.instances.to(torch::kLong).contiguous();
  const int64_t T = w.size(1);
  const double* wp = w.data_ptr<double>();
  const int64_t* ip = ids.data_ptr<int64_t>();
  std::string out = "bag_id,instance_index,token_index,token_id,attention_weight\n";
  for (int64_t b = 0; b < split.num_bags(); ++b)
    for (int64_t k = 0; k < split.bags[b].size(); ++k) {
      const int64_t row = split.offsets[b] + k;
      for (int64_t t = 0; t < T; ++t)
        if (ip[row * T + t] != 0)
          out += fmt::format("{},{},{},{},{:.6g}\n", split.bags[b].id, k, t, ip[row * T + t], wp[row * T + t]);
    }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace abmil
