// Text bags, the tensor side: tokenised documents (data/text.h) encoded as
// bags of token-id instances, and the `abmil train` loader of
// `data.kind: text_bags`.
//
// The instances are int64 token ids, not features: model_input (data/bag.h)
// passes them through as they are, so the model's encoder must start with an
// embedding table of MilData::vocabulary.size() rows (id 0 = "<pad>", to be
// masked or embedded as zeros; id 1 = "<unk>").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abmil/data/bag.h"
#include "abmil/data/text.h"

namespace abmil {

struct DataConfig;
struct MilData;

/// What encoding a set of documents left out and met (summed over calls with add()).
struct TextEncodingStats {
  int64_t documents = 0;            ///< documents encoded (bags)
  int64_t sentences = 0;            ///< sentences kept
  int64_t tokens = 0;               ///< tokens kept (after truncation)
  int64_t unknown_tokens = 0;       ///< kept tokens that are not in the vocabulary (id 1)
  int64_t truncated_sentences = 0;  ///< kept sentences longer than max_tokens_per_sentence
  int64_t dropped_tokens = 0;       ///< tokens cut off those sentences
  int64_t truncated_documents = 0;  ///< documents with more than max_sentences_per_document sentences
  int64_t dropped_sentences = 0;    ///< sentences cut off those documents (their tokens not counted above)

  /// Adds the counts of `other` to these.
  void add(const TextEncodingStats& other);
};

/// The documents at `positions` as a BagSplit named `name`, one bag per
/// document in the order of `positions`: Bag::id = the document's position,
/// label = its label, instance labels unknown (-1); instance k is
/// text_instances(doc, limits, mode)[k]; source_indices[k] = the instance's
/// row in `instances` (sentences: all distinct) or its token id (tokens:
/// equal tokens are equal instances, so predict() encodes each once). A document keeps its
/// first kept_sentences(doc, limits) sentences, each its first
/// max_tokens_per_sentence tokens, in both modes:
/// - sentences: instance = a sentence; `instances` int64 [N_sentences, T],
///   T = limits.max_tokens_per_sentence, token ids (vocab.id) left-aligned,
///   the rest of the row 0 ("<pad>"). A sentence of unknown tokens only stays
///   (ids 1).
/// - tokens: instance = a token; `instances` int64 [N_tokens, 1] (no 0).
/// Counts what was truncated into `*stats` (added to it) when given.
/// Throws std::invalid_argument for max_tokens_per_sentence < 1,
/// max_sentences_per_document < 0, a document without a sentence or with an
/// empty sentence; std::out_of_range for a position outside `documents`.
BagSplit encode_documents(const std::vector<TextDocument>& documents, const std::vector<int64_t>& positions,
                          const Vocabulary& vocab, const TextLimits& limits, TextInstances mode, std::string name,
                          TextEncodingStats* stats = nullptr);

/// The train / validation / test splits of the documents at `train`,
/// `validation` and `test` (positions in `documents`) encoded with `vocab`
/// as encode_documents does, with the limits and instance mode of `data`;
/// instance_shape {T} (sentences) or {1} (tokens) and the vocabulary's
/// tokens set; no summary. Counts truncations into `*stats` when given.
/// Throws as encode_documents.
MilData encode_text_splits(const std::vector<TextDocument>& documents, const std::vector<int64_t>& train,
                           const std::vector<int64_t>& validation, const std::vector<int64_t>& test,
                           const Vocabulary& vocab, const DataConfig& data, TextEncodingStats* stats = nullptr);

/// `abmil train` on text bags: read_text_documents, then a stratified
/// `data.test_fraction` of the documents held out for testing and
/// `data.validation_fraction` of the rest for early stopping
/// (hold_out_positions: the same seeds and draws as the other kinds), the
/// Vocabulary built from the remaining training documents only
/// (data.min_token_frequency, data.max_vocabulary), and all three splits
/// encoded with data.max_tokens_per_sentence, data.max_sentences_per_document
/// and data.text_instances. Bag ids are positions in
/// read_text_documents(data).documents (the same on every read).
/// MilData::instance_shape = {T} (sentences) or {1} (tokens);
/// MilData::vocabulary = the vocabulary's tokens; the summary line reports
/// documents, sentences, tokens, skipped empty documents, vocabulary size,
/// unknown tokens and every truncation count.
/// With `vocabulary` given (a trained run's vocabulary.txt, for `abmil
/// predict`), that vocabulary is used instead of a new one.
/// Throws DataError as read_text_documents, and "PATH: N bag(s), too few to
/// hold out test bags ..." as hold_out_positions.
MilData load_text_bags(const DataConfig& data, uint64_t seed, const Vocabulary* vocabulary = nullptr);

}  // namespace abmil
