// Text bags, the text side: documents as bags of sentences, sentences as bags
// of tokens. UTF-8 check, word tokenizer, sentence splitter, vocabulary, the
// reader of labelled documents (a folder per label, or a CSV list) and the
// Pang & Lee folds. No LibTorch here: the token-id tensors are made in
// data/text_bags.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "abmil/data/folds.h"  // Fold

namespace abmil {

struct DataConfig;

/// Checks that `text` is valid UTF-8 (RFC 3629: no overlong form, no
/// surrogate, nothing above U+10FFFF, no sequence cut short).
/// Throws DataError "SOURCE: byte N: invalid UTF-8 (bad sequence starting
/// with byte 0xXX)", N the 0-based offset in `text` of the first byte of the
/// first bad sequence.
void check_utf8(std::string_view text, const std::string& source);

/// Splits `text` into word tokens:
/// - ASCII letters are lower-cased; other bytes are kept as they are (a
///   non-ASCII UTF-8 letter stays inside its token, byte for byte);
/// - ASCII whitespace (space, \t, \n, \v, \f, \r) separates tokens;
/// - every ASCII punctuation character (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~) is
///   a token of its own, except an apostrophe or a hyphen with a word byte
///   (ASCII letter or digit, or any byte >= 0x80) right before and right
///   after it, which stays inside the word: "don't", "12-part" and
///   "rock'n'roll" are one token each, "(batman" is "(", "batman", "'80s" is
///   "'", "80s", "..." is ".", ".", ".".
/// Non-ASCII punctuation (e.g. curly quotes) is not split off.
std::vector<std::string> tokenize(std::string_view text);

/// How a document's text is cut into sentences (`data.sentence_split`).
enum class SentenceSplit {
  lines,  ///< one sentence per non-blank line (pre-split text such as Pang & Lee's)
  rules,  ///< rule-based, for raw text (see split_sentences)
};

/// The SentenceSplit named `name` ("lines" or "rules"); throws
/// std::invalid_argument "data.sentence_split: unknown mode 'NAME'" otherwise.
SentenceSplit sentence_split_from_name(const std::string& name);

/// The sentences of `text`, each trimmed of ASCII whitespace, blank ones
/// dropped, in text order.
/// - lines: every line ("\n" or "\r\n" ends) is one sentence.
/// - rules: a sentence ends after a run of '.', '!' or '?' (optionally
///   followed by closing quotes or brackets: " ' ) ] } and the UTF-8 ’ ” »)
///   when whitespace or the end of the text follows, except when the run is a
///   single '.' right after one of the abbreviations mr, mrs, dr, st, vs, e.g,
///   i.e, etc (any case, after an opening bracket or quote) or after a single
///   capital letter (an initial, "J. R. R. Tolkien"). A '.' inside a number
///   ("3.5") is followed by a digit, so it never ends one. A blank line (a
///   paragraph break) also ends a sentence; other line breaks do not.
std::vector<std::string> split_sentences(std::string_view text, SentenceSplit mode);

/// One labelled document, tokenised: a bag of sentences, each a bag of tokens.
struct TextDocument {
  /// Where it came from, for messages and visualisation: the file path
  /// relative to data.path ("pos/cv000_29590.txt") for a folder, the path
  /// cell of a CSV list, or "CSV:LINE" for a CSV text cell.
  std::string name;
  int label = 0;                                    ///< bag label Y in {0, 1}, -1 when unknown
  std::string group;                                ///< polarity_group of the file name ("cv0".."cv9"), "" when none
  std::vector<std::vector<std::string>> sentences;  ///< tokens of each sentence (none empty), text order

  /// Tokens over all sentences.
  int64_t num_tokens() const;
};

/// The Pang & Lee fold group of a file: "cvK" when the file name (the part
/// after the last '/') starts with "cv" and three digits, K the first of them
/// (cv000-cv099 -> "cv0", ..., cv900-cv999 -> "cv9"), else "".
std::string polarity_group(const std::string& file_name);

/// The tokenised document of `text` (assumed valid UTF-8, see check_utf8; a
/// leading UTF-8 byte-order mark is dropped): split_sentences, then tokenize
/// each sentence. A text without a token gives a document without sentences.
TextDocument parse_text_document(std::string name, int label, std::string group, std::string_view text,
                                 SentenceSplit mode);

/// How much of a document becomes instances (data.max_tokens_per_sentence,
/// data.max_sentences_per_document).
struct TextLimits {
  int64_t max_tokens_per_sentence = 50;      ///< T >= 1: a sentence keeps its first T tokens
  int64_t max_sentences_per_document = 100;  ///< a document keeps its first N sentences; 0 = all
};

/// The limits of `data.max_tokens_per_sentence` and `data.max_sentences_per_document`.
TextLimits text_limits(const DataConfig& data);

/// Sentences of `doc` kept under `limits` (its first N, all when N is 0).
int64_t kept_sentences(const TextDocument& doc, const TextLimits& limits);

/// Tokens of `sentence` kept under `limits` (its first T).
int64_t kept_tokens(const std::vector<std::string>& sentence, const TextLimits& limits);

/// What one instance of a text bag is (`data.text_instances`).
enum class TextInstances {
  sentences,  ///< instance = a sentence, [T] token ids padded with 0
  tokens,     ///< instance = one token, [1] token id
};

/// The TextInstances named `name` ("sentences" or "tokens"); throws
/// std::invalid_argument "data.text_instances: unknown mode 'NAME'" otherwise.
TextInstances text_instances_from_name(const std::string& name);

/// One instance of a document's bag, for showing attention weights on text.
struct TextInstance {
  int64_t sentence = 0;  ///< index in TextDocument::sentences
  int64_t token = -1;    ///< tokens mode: index in the sentence; sentences mode: -1
  std::string text;      ///< the kept tokens joined by single spaces (tokens mode: the token)
};

/// The instances of `doc`'s bag under `limits`, in bag order: element k is
/// instance k of the bag encode_documents makes of `doc` (its
/// Bag::source_indices[k] == k), so attention weight k belongs to it.
std::vector<TextInstance> text_instances(const TextDocument& doc, const TextLimits& limits, TextInstances mode);

/// Token <-> id map of text bags: id 0 = "<pad>", id 1 = "<unk>", then the
/// tokens in order of descending count, ties in byte order.
class Vocabulary {
 public:
  static constexpr int64_t kPad = 0;  ///< id of "<pad>", fills sentence rows after their last token
  static constexpr int64_t kUnk = 1;  ///< id of "<unk>", every token not in the vocabulary

  /// Only "<pad>" and "<unk>".
  Vocabulary();

  /// Counts every token of `documents` (all their sentences, before any
  /// TextLimits) and keeps those used at least `min_frequency` times, the
  /// most frequent first (ties in byte order), at most `max_size` of them
  /// (0 = no limit; "<pad>" and "<unk>" do not count). Pass the TRAINING
  /// documents only, so that no word of a test document leaks in.
  /// Throws std::invalid_argument for min_frequency < 1 or max_size < 0.
  static Vocabulary build(const std::vector<TextDocument>& documents, int64_t min_frequency, int64_t max_size = 0);

  /// build() over the documents at `positions` only (the training part of
  /// `documents`), without copying them. Throws as build(), and
  /// std::invalid_argument for a position outside `documents`. (Not an
  /// overload of build: `build(docs, {3}, 1)` would read {3} as min_frequency.)
  static Vocabulary build_from_positions(const std::vector<TextDocument>& documents,
                                         const std::vector<int64_t>& positions, int64_t min_frequency,
                                         int64_t max_size = 0);

  /// The vocabulary whose id i is `tokens[i]`. Throws DataError
  /// "SOURCE:LINE: message" (LINE = i + 1) when tokens[0] is not "<pad>",
  /// tokens[1] is not "<unk>", a token is empty or holds ASCII whitespace, or
  /// a token comes twice.
  static Vocabulary from_tokens(std::vector<std::string> tokens, const std::string& source = "vocabulary");

  /// The vocabulary of to_text()'s format: one token per line, line i + 1 =
  /// id i, "\n" (or "\r\n") line ends, the last line end optional. Throws
  /// DataError as from_tokens, naming `source` (e.g. the file).
  static Vocabulary from_text(std::string_view text, const std::string& source = "vocabulary");

  /// One token per line in id order, each line ending in "\n" (saved with a run).
  std::string to_text() const;

  /// Id of `token`, kUnk when it is not in the vocabulary.
  int64_t id(const std::string& token) const;

  /// Token of `id`; throws std::out_of_range outside [0, size()).
  const std::string& token(int64_t id) const;

  /// Number of ids, "<pad>" and "<unk>" included (rows of an embedding table).
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }

  /// Every token in id order.
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
};

/// The documents of a text data set, as read.
struct TextCorpus {
  std::vector<TextDocument> documents;  ///< labels 0/1; order: see read_text_documents
  std::string source;                   ///< data.path
  int64_t positives = 0;                ///< documents with label 1
  int64_t sentences = 0;                ///< over all documents, before TextLimits
  int64_t tokens = 0;                   ///< over all documents, before TextLimits
  int64_t skipped_empty = 0;            ///< documents without a token left out (data.empty_documents: skip)
  std::string summary;                  ///< one line for the log
};

/// Reads the documents of `data.path` (UTF-8 text; split into
/// sentences by data.sentence_split, then tokenize):
/// - a folder: every regular file ending in ".txt" of its subfolder
///   data.negative_folder (label 0, first) and then data.positive_folder
///   (label 1), each folder's files sorted by name (not recursive); a folder
///   with neither subfolder: its own .txt files, unlabelled (label -1, for
///   `abmil predict`), named by file name;
/// - a CSV file (double-quoted cells allowed, see read_csv): a `label`
///   column (0/1; optional, and an empty cell is unknown: -1) and either a `path` column, files relative to the CSV's
///   folder (absolute paths stay as they are), or a `text` column, the text
///   itself (one line: with data.sentence_split lines it is one sentence);
///   documents in row order.
/// A document without a token is an error, or with data.empty_documents
/// skip left out and counted. Document groups come from polarity_group.
/// Throws DataError, one line naming the file (and line or byte): data.path
/// empty or missing, a missing label folder or file, a folder without a .txt
/// file, an unreadable file, invalid UTF-8 ("FILE: byte N: ..."), an empty
/// document (error mode), a CSV without a `path`
/// or `text` column or with both, a label other than 0/1 or empty, a file
/// listed twice, no row, or no document left.
TextCorpus read_text_documents(const DataConfig& data);

/// The 10 cross-validation folds of Pang & Lee: fold k tests on the
/// documents of group "cvK" (file names cvK00-cvK99), via folds_from_groups
/// (groups in byte order, so fold k = "cvK" when all ten are present).
/// Throws DataError "NAME: no cvN group (polarity_folds needs file names
/// starting with cvNNN)" for the first document without a group, and
/// std::invalid_argument from folds_from_groups for fewer than 2 groups.
std::vector<Fold> polarity_folds(const std::vector<TextDocument>& documents);

}  // namespace abmil
