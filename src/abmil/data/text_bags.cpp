#include "abmil/data/text_bags.h"

#include <fmt/format.h>

#include <stdexcept>

#include "abmil/config/config.h"
#include "abmil/data/splits.h"

namespace abmil {

void TextEncodingStats::add(const TextEncodingStats& o) {
  documents += o.documents;
  sentences += o.sentences;
  tokens += o.tokens;
  unknown_tokens += o.unknown_tokens;
  truncated_sentences += o.truncated_sentences;
  dropped_tokens += o.dropped_tokens;
  truncated_documents += o.truncated_documents;
  dropped_sentences += o.dropped_sentences;
}

BagSplit encode_documents(const std::vector<TextDocument>& documents, const std::vector<int64_t>& positions,
                          const Vocabulary& vocab, const TextLimits& limits, TextInstances mode, std::string name,
                          TextEncodingStats* stats) {
  if (limits.max_tokens_per_sentence < 1)
    throw std::invalid_argument(fmt::format("encode_documents: max_tokens_per_sentence must be at least 1 (got {})",
                                            limits.max_tokens_per_sentence));
  if (limits.max_sentences_per_document < 0)
    throw std::invalid_argument(fmt::format("encode_documents: max_sentences_per_document must be 0 or more (got {})",
                                            limits.max_sentences_per_document));
  const bool by_sentence = mode == TextInstances::sentences;
  const int64_t width = by_sentence ? limits.max_tokens_per_sentence : 1;
  TextEncodingStats s;
  BagSplit split;
  split.name = std::move(name);
  split.offsets.push_back(0);
  std::vector<int64_t> ids;  // row-major [N, width]
  for (int64_t p : positions) {
    if (p < 0 || p >= static_cast<int64_t>(documents.size()))
      throw std::out_of_range(
          fmt::format("encode_documents: position {} outside the {} documents", p, documents.size()));
    const TextDocument& doc = documents[p];
    if (doc.sentences.empty())
      throw std::invalid_argument("encode_documents: document '" + doc.name + "' has no sentence");
    const int64_t num_sentences = kept_sentences(doc, limits);
    ++s.documents;
    if (num_sentences < static_cast<int64_t>(doc.sentences.size())) {
      ++s.truncated_documents;
      s.dropped_sentences += static_cast<int64_t>(doc.sentences.size()) - num_sentences;
    }
    Bag bag;
    bag.id = p;
    bag.label = doc.label;
    bag.name = doc.name;
    for (int64_t si = 0; si < num_sentences; ++si) {
      const std::vector<std::string>& sentence = doc.sentences[si];
      if (sentence.empty())
        throw std::invalid_argument(
            fmt::format("encode_documents: sentence {} of document '{}' is empty", si, doc.name));
      const int64_t kept = kept_tokens(sentence, limits);
      ++s.sentences;
      s.tokens += kept;
      if (kept < static_cast<int64_t>(sentence.size())) {
        ++s.truncated_sentences;
        s.dropped_tokens += static_cast<int64_t>(sentence.size()) - kept;
      }
      for (int64_t t = 0; t < kept; ++t) {
        const int64_t id = vocab.id(sentence[t]);
        s.unknown_tokens += id == Vocabulary::kUnk;
        ids.push_back(id);
        if (!by_sentence) bag.source_indices.push_back(id);  // equal ids, equal instances
      }
      if (by_sentence) {
        ids.insert(ids.end(), width - kept, Vocabulary::kPad);
        bag.source_indices.push_back(split.offsets.back() + bag.size());  // its row: every sentence distinct
      }
    }
    bag.instance_labels.assign(bag.source_indices.size(), -1);
    split.offsets.push_back(split.offsets.back() + bag.size());
    split.bags.push_back(std::move(bag));
  }
  const auto rows = static_cast<int64_t>(ids.size()) / width;
  split.instances = torch::tensor(ids, torch::kLong).view({rows, width});
  if (stats) stats->add(s);
  return split;
}

MilData encode_text_splits(const std::vector<TextDocument>& documents, const std::vector<int64_t>& train,
                           const std::vector<int64_t>& validation, const std::vector<int64_t>& test,
                           const Vocabulary& vocab, const DataConfig& data, TextEncodingStats* stats) {
  const TextInstances mode = text_instances_from_name(data.text_instances);
  const TextLimits limits = text_limits(data);
  MilData out;
  out.train = encode_documents(documents, train, vocab, limits, mode, "train", stats);
  out.validation = encode_documents(documents, validation, vocab, limits, mode, "validation", stats);
  out.test = encode_documents(documents, test, vocab, limits, mode, "test", stats);
  out.instance_shape = {mode == TextInstances::sentences ? limits.max_tokens_per_sentence : 1};
  out.vocabulary = vocab.tokens();
  return out;
}

MilData load_text_bags(const DataConfig& data, uint64_t seed, const Vocabulary* vocabulary) {
  const TextCorpus corpus = read_text_documents(data);
  const TextInstances mode = text_instances_from_name(data.text_instances);
  const TextLimits limits = text_limits(data);
  std::vector<int> labels;
  std::vector<std::string> names;
  for (const TextDocument& d : corpus.documents) {
    labels.push_back(d.label);
    names.push_back(d.name);
  }
  const HeldOutPositions held = hold_out_positions(labels, names, data, seed, data.path);
  const Vocabulary vocab = vocabulary ? *vocabulary
                                      : Vocabulary::build_from_positions(corpus.documents, held.train,
                                                                         data.min_token_frequency, data.max_vocabulary);

  TextEncodingStats stats;
  MilData out = encode_text_splits(corpus.documents, held.train, held.validation, held.test, vocab, data, &stats);
  const auto percent = [](int64_t part, int64_t whole) {
    return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  };
  out.summary = fmt::format(
      "text_bags from {}: {}; instances: {} ({}); vocabulary {} ids {}, {:.2f} % of the kept tokens unknown; {} of {} "
      "sentences cut to {} tokens ({} tokens dropped), {} "
      "documents cut to {} sentences ({} sentences dropped); train {}, validation {}, test {}",
      data.path, corpus.summary, data.text_instances,
      mode == TextInstances::sentences ? fmt::format("[{}] token ids", limits.max_tokens_per_sentence) : "[1] token id",
      vocab.size(),
      vocabulary ? std::string("given (the trained model's)")
                 : fmt::format("from the {} training documents (min frequency {}{})", held.train.size(),
                               data.min_token_frequency,
                               data.max_vocabulary > 0 ? fmt::format(", at most {} tokens", data.max_vocabulary) : ""),
      percent(stats.unknown_tokens, stats.tokens), stats.truncated_sentences, stats.sentences,
      limits.max_tokens_per_sentence, stats.dropped_tokens, stats.truncated_documents,
      limits.max_sentences_per_document > 0 ? std::to_string(limits.max_sentences_per_document) : "all",
      stats.dropped_sentences, out.train.num_bags(), out.validation.num_bags(), out.test.num_bags());
  return out;
}

}  // namespace abmil
