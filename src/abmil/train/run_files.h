// The CSV files of the run directory (io/run_dir.h lists the layout): their
// text from the training types. The training layer writes them with
// write_file_atomic; io itself knows no training type.
#pragma once

#include <string>
#include <vector>

namespace abmil {

struct Bag;
struct BagSplit;
struct BagPredictions;
struct EpochLog;

/// metrics.csv text: header `epoch,split,loss,accuracy,error,precision,recall,f1,auc,seconds`
/// and one row per log entry.
std::string metrics_csv(const std::vector<EpochLog>& history);

/// Bag predictions CSV text, one row per bag of `split`:
/// `bag_id,bag_name,bag_label,bag_probability,instances`; bag_name = Bag::name
/// (the user's id; the bag id when it has none), double-quoted when it holds
/// a comma or a quote; bag_label empty when unknown.
/// With C > 2 classes (predictions.class_probabilities defined) two more
/// column groups follow: predicted_label (the class index of the largest
/// probability) and one column p_<class name> per class (`classes`, index
/// order; class_<c> where it has no entry). Multi-label (predictions.multi_label):
/// bag_label = 1 when the bag holds any label (0: none), bag_probability =
/// the largest sigmoid, then `labels` and `predicted_labels` (the `;`-joined
/// names of the true labels and of those with probability >= 0.5) and one
/// column p_<label> per label.
std::string predictions_csv(const BagSplit& split, const BagPredictions& predictions,
                            const std::vector<std::string>& classes = {});

/// Attention CSV text, one row per instance of every bag of `split`:
/// `bag_id,bag_name,instance_index,source_index,instance_label,attention_weight,attention_logit,instance_probability,bag_label,bag_probability,x,y`
/// (bag_name and empty labels as in predictions_csv; x, y: level-0 pixels of
/// the patch's top-left corner, from split.reader's coords, empty when
/// unknown). With C attention branches (predictions.branch_attention)
/// attention_weight/attention_logit are the predicted class's branch and C
/// columns `attention_<class>` follow (`classes`, index order; branch_<c>
/// where it has no entry). With heads or seeds (predictions.head_attention:
/// multihead_gated_attention, pma) attention_weight is their mean and h
/// columns `attention_head<j>` / `attention_seed<j>` follow. Columns a model
/// does not produce are left empty.
/// Throws DataError when a slide's coordinates cannot be read.
/// The bag_name cell of `bag` in the run CSVs: Bag::name (its id when
/// empty), double-quoted with "" for '"' when it holds a comma, quote,
/// newline or edge blank.
std::string bag_name_cell(const Bag& bag);

std::string attention_csv(const BagSplit& split, const BagPredictions& predictions,
                          const std::vector<std::string>& classes = {});

/// Inner attention CSV text (text sentences: the token weights of each
/// sentence, BagPredictions::inner_attention), one row per non-<pad> part of
/// every instance of `split`: `bag_id,instance_index,token_index,token_id,attention_weight`
/// (token_index: position in the sentence; the weights of one instance sum to 1).
/// Throws std::invalid_argument when `predictions` has no inner attention.
std::string token_attention_csv(const BagSplit& split, const BagPredictions& predictions);

}  // namespace abmil
