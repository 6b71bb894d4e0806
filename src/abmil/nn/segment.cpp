#include "abmil/nn/segment.h"

#include <c10/util/Exception.h>

namespace abmil {

namespace {

/// Drops LibTorch 1.13's "scatter_reduce() is in beta" notice (we rely on its
/// documented 1.13 behaviour and test it) and passes every other warning on.
class BetaNoticeFilter : public c10::WarningHandler {
 public:
  explicit BetaNoticeFilter(c10::WarningHandler* next) : next_(next) {}
  void process(const c10::SourceLocation& where, const std::string& msg, const bool verbatim) override {
    if (msg.find("scatter_reduce() is in beta") == std::string::npos) next_->process(where, msg, verbatim);
  }

 private:
  c10::WarningHandler* next_;
};

void filter_beta_notice_once() {
  static BetaNoticeFilter filter(c10::Warning::get_warning_handler());
  static const bool installed = (c10::Warning::set_warning_handler(&filter), true);
  (void)installed;
}

/// bag_index [N] broadcast to x's shape, for scatter.
torch::Tensor expand_index(const torch::Tensor& bag_index, const torch::Tensor& x) {
  std::vector<int64_t> view(x.dim(), 1);
  view[0] = x.size(0);
  return bag_index.view(view).expand_as(x);
}

std::vector<int64_t> reduced_shape(const torch::Tensor& x, int64_t num_bags) {
  std::vector<int64_t> shape = x.sizes().vec();
  shape[0] = num_bags;
  return shape;
}

}  // namespace

torch::Tensor segment_sum(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags) {
  return torch::zeros(reduced_shape(x, num_bags), x.options()).index_add(0, bag_index, x);
}

std::vector<torch::Tensor> segment_rows(const torch::Tensor& bag_index, int64_t num_bags) {
  const torch::Tensor index = bag_index.to(torch::kCPU, torch::kLong).contiguous();
  const torch::Tensor order = std::get<1>(index.sort(/*stable=*/true, 0, /*descending=*/false));
  const torch::Tensor counts = torch::bincount(index, /*weights=*/{}, num_bags);
  const int64_t* n = counts.data_ptr<int64_t>();
  std::vector<torch::Tensor> rows;
  rows.reserve(static_cast<size_t>(num_bags));
  int64_t start = 0;
  for (int64_t b = 0; b < num_bags; ++b) {
    rows.push_back(order.narrow(0, start, n[b]).to(bag_index.device()));
    start += n[b];
  }
  return rows;
}

torch::Tensor segment_counts(const torch::Tensor& bag_index, int64_t num_bags, torch::ScalarType dtype) {
  return torch::bincount(bag_index, /*weights=*/{}, num_bags).to(dtype);
}

torch::Tensor segment_mean(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags) {
  torch::Tensor counts = segment_counts(bag_index, num_bags, x.scalar_type());
  std::vector<int64_t> view(x.dim(), 1);
  view[0] = num_bags;
  return segment_sum(x, bag_index, num_bags) / counts.view(view);
}

torch::Tensor segment_max(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags) {
  if (num_bags == 1) return std::get<0>(x.max(0, /*keepdim=*/true));
  filter_beta_notice_once();
  return torch::zeros(reduced_shape(x, num_bags), x.options())
      .scatter_reduce(0, expand_index(bag_index, x), x, "amax", /*include_self=*/false);
}

torch::Tensor segment_softmax(const torch::Tensor& logits, const torch::Tensor& bag_index, int64_t num_bags) {
  torch::Tensor shift = segment_max(logits.detach(), bag_index, num_bags).index_select(0, bag_index);
  torch::Tensor e = (logits - shift).exp();
  return e / segment_sum(e, bag_index, num_bags).index_select(0, bag_index);
}

torch::Tensor segment_logsumexp(const torch::Tensor& x, const torch::Tensor& bag_index, int64_t num_bags) {
  torch::Tensor m = segment_max(x.detach(), bag_index, num_bags);
  torch::Tensor e = (x - m.index_select(0, bag_index)).exp();
  return segment_sum(e, bag_index, num_bags).log() + m;
}

}  // namespace abmil
