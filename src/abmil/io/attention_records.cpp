#include "abmil/io/attention_records.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "abmil/io/csv_table.h"

namespace abmil {

AttentionRecords read_attention_records(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path))
    throw std::runtime_error(path.string() + ": cannot read (run `abmil train` with output.save_attention)");
  const CsvTable t = read_csv(path, /*quoted=*/true);
  const std::vector<std::string> base = {
      "bag_id",           "bag_name",        "instance_index",       "source_index", "instance_label",
      "attention_weight", "attention_logit", "instance_probability", "bag_label",    "bag_probability"};
  AttentionRecords out;
  out.path = path;
  // the ten columns, then optionally x,y, then attention_<class> columns
  bool ok = t.header.size() >= base.size() && std::equal(base.begin(), base.end(), t.header.begin());
  size_t next = base.size();
  if (ok && next < t.header.size() && t.header[next] == "x") {
    ok = next + 1 < t.header.size() && t.header[next + 1] == "y";
    out.has_xy = ok;
    next += 2;
  }
  const std::string prefix = "attention_";
  for (size_t c = next; ok && c < t.header.size(); ++c) {
    ok = t.header[c].size() > prefix.size() && t.header[c].compare(0, prefix.size(), prefix) == 0;
    if (ok) out.branches.push_back(t.header[c].substr(prefix.size()));
  }
  if (!ok) throw std::runtime_error(path.string() + ":1: unexpected header (written by another abmil version?)");

  const size_t bag_id = 0, bag_name = 1, instance_index = 2, source_index = 3, instance_label = 4, attention_weight = 5,
               instance_probability = 7, bag_label = 8, bag_probability = 9;
  const size_t x_col = base.size(), y_col = base.size() + 1, first_branch = next;
  for (size_t row = 0; row < t.rows.size(); ++row) {
    BagRecord& bag = out.bags[t.integer(row, bag_id)];
    if (t.integer(row, instance_index) != static_cast<int64_t>(bag.instances.size()))
      throw t.error(row, "instance_index out of order");
    InstanceRecord r;
    r.source_index = t.integer(row, source_index);
    r.label = t.label(row, instance_label);
    if (const double a = t.number(row, attention_weight); !std::isnan(a)) {
      r.weight = a;
      out.has_attention = true;
    } else if (const double p = t.number(row, instance_probability); !std::isnan(p)) {
      r.weight = p;
    }
    if (out.has_xy) {
      const bool has_x = !t.rows[row][x_col].empty(), has_y = !t.rows[row][y_col].empty();
      if (has_x != has_y) throw t.error(row, "x and y must be both given or both empty");
      if (has_x) {
        r.has_xy = true;
        r.x = t.integer(row, x_col);
        r.y = t.integer(row, y_col);
      }
    }
    for (size_t c = first_branch; c < t.header.size(); ++c) r.branch_weights.push_back(t.number(row, c));
    bag.name = t.rows[row][bag_name];
    bag.label = t.class_label(row, bag_label);  // -1: unknown (`abmil predict` on unlabelled bags)
    bag.probability = t.number(row, bag_probability);
    if (std::isnan(bag.probability)) throw t.error(row, "empty bag_probability");
    bag.instances.push_back(std::move(r));
  }
  return out;
}

std::vector<std::filesystem::path> attention_files(const std::filesystem::path& run_dir) {
  const std::filesystem::path dir = run_dir / "attention";
  if (std::filesystem::is_regular_file(dir / "test.csv")) return {dir / "test.csv"};
  std::vector<std::filesystem::path> files;
  for (int64_t fold = 0; std::filesystem::is_regular_file(dir / fmt::format("r0_f{}.csv", fold)); ++fold)
    files.push_back(dir / fmt::format("r0_f{}.csv", fold));
  return files;
}

}  // namespace abmil
