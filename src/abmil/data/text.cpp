#include "abmil/data/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <tuple>

#include "abmil/config/config.h"
#include "abmil/data/errors.h"
#include "abmil/io/csv_table.h"

namespace abmil {

namespace fs = std::filesystem;

namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// ASCII punctuation: !"#$%&'()*+,-./ :;<=>?@ [\]^_` {|}~ (std::ispunct of the C locale).
bool is_punct(unsigned char c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

// A byte that may stand on both sides of an in-word apostrophe or hyphen.
bool is_word(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && is_space(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

void add_sentence(std::vector<std::string>& out, std::string_view text) {
  const std::string_view t = trim(text);
  if (!t.empty()) out.emplace_back(t);
}

// Length of the closing quote or bracket at `text[i]`, 0 when there is none.
size_t closer_length(std::string_view text, size_t i) {
  const char c = text[i];
  if (c == '"' || c == '\'' || c == ')' || c == ']' || c == '}') return 1;
  for (std::string_view u : {"\xE2\x80\x99", "\xE2\x80\x9D", "\xC2\xBB"})  // ’ ” »
    if (text.substr(i, u.size()) == u) return u.size();
  return 0;
}

// Whether a single '.' at `dot` (the sentence so far starting at `start`)
// follows an abbreviation or an initial, so the sentence goes on.
bool is_abbreviation(std::string_view text, size_t start, size_t dot) {
  size_t b = dot;
  while (b > start && !is_space(static_cast<unsigned char>(text[b - 1]))) --b;
  std::string_view word = text.substr(b, dot - b);
  while (!word.empty() && (word[0] == '(' || word[0] == '[' || word[0] == '{' || word[0] == '"' || word[0] == '\''))
    word.remove_prefix(1);
  if (word.size() == 1 && word[0] >= 'A' && word[0] <= 'Z') return true;  // an initial
  std::string w(word);
  std::transform(w.begin(), w.end(), w.begin(), lower);
  static const std::array<const char*, 8> kAbbreviations = {"mr", "mrs", "dr", "st", "vs", "e.g", "i.e", "etc"};
  return std::find(kAbbreviations.begin(), kAbbreviations.end(), w) != kAbbreviations.end();
}

std::vector<std::string> split_rules(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {  // a blank line ends the sentence
      size_t j = i + 1;
      while (j < n && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
      if (j < n && text[j] == '\n') {
        add_sentence(out, text.substr(start, i - start));
        start = i = j;
        continue;
      }
      ++i;
      continue;
    }
    if (c != '.' && c != '!' && c != '?') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && (text[j] == '.' || text[j] == '!' || text[j] == '?')) ++j;
    const bool single_dot = j == i + 1 && c == '.';
    size_t k = j;
    while (k < n) {
      const size_t len = closer_length(text, k);
      if (len == 0) break;
      k += len;
    }
    if ((k == n || is_space(static_cast<unsigned char>(text[k]))) &&
        !(single_dot && k == j && is_abbreviation(text, start, i))) {
      add_sentence(out, text.substr(start, k - start));
      start = k;
    }
    i = k;
  }
  add_sentence(out, text.substr(start));
  return out;
}

std::string read_file(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open {}: {}", path.string(), what, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw DataError(path.string() + ": read error");
  return text.str();
}

// Adds one document read from `text`, or counts it as skipped when empty
// (or throws, naming `where`).
void add_document(TextCorpus& corpus, const DataConfig& data, SentenceSplit mode, std::string name, int label,
                  std::string group, std::string_view text, const std::string& where) {
  TextDocument doc = parse_text_document(std::move(name), label, std::move(group), text, mode);
  if (doc.sentences.empty()) {
    if (data.empty_documents == "skip") {
      ++corpus.skipped_empty;
      return;
    }
    throw DataError(where + ": empty document, no token (data.empty_documents: skip leaves such documents out)");
  }
  corpus.documents.push_back(std::move(doc));
}

void read_folder(TextCorpus& corpus, const DataConfig& data, SentenceSplit mode) {
  const fs::path root(data.path);
  using LabelFolder = std::tuple<std::string, int, const char*>;  // subfolder, label, its config key
  std::vector<LabelFolder> folders = {LabelFolder{data.negative_folder, 0, "data.negative_folder"},
                                      LabelFolder{data.positive_folder, 1, "data.positive_folder"}};
  std::error_code ec;
  const auto is_dir = [&](const std::string& f) { return !f.empty() && fs::is_directory(root / f, ec); };
  if (!is_dir(data.negative_folder) && !is_dir(data.positive_folder))
    folders = {LabelFolder{"", -1, "data.path"}};  // no label subfolder: the folder's own documents, unlabelled
  for (const auto& [folder, label, key] : folders) {
    const fs::path dir = folder.empty() ? root : root / folder;
    if (label >= 0 && !is_dir(folder))
      throw DataError(fmt::format("{}: no such folder ({} of data.path)", dir.string(), key));
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".txt" && it->is_regular_file()) files.push_back(it->path());
    if (ec) throw DataError(fmt::format("{}: cannot list the folder: {}", dir.string(), ec.message()));
    if (files.empty()) throw DataError(fmt::format("{}: no .txt file ({} of data.path)", dir.string(), key));
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const std::string text = read_file(file, "text file");
      check_utf8(text, file.string());
      const std::string name =
          folder.empty() ? file.filename().string() : (fs::path(folder) / file.filename()).generic_string();
      add_document(corpus, data, mode, name, label, polarity_group(file.filename().string()), text, file.string());
    }
  }
}

void read_list(TextCorpus& corpus, const DataConfig& data, SentenceSplit mode) {
  const std::string& csv = data.path;
  check_utf8(read_file(csv, "document list"), csv);
  CsvTable t;
  try {
    t = read_csv(csv, /*quoted=*/true);
  } catch (const std::runtime_error& e) {
    throw DataError(e.what());
  }
  const auto label_col = t.find_column("label");  // optional: documents to score with `abmil predict`
  const auto path_col = t.find_column("path"), text_col = t.find_column("text");
  if (path_col && text_col) throw DataError(csv + ":1: both a 'path' and a 'text' column; keep one");
  if (!path_col && !text_col) throw DataError(csv + ":1: no column 'path' or 'text' in the header");
  if (t.rows.empty()) throw DataError(csv + ": no documents listed");
  const fs::path root = fs::path(csv).parent_path();
  std::set<std::string> seen;
  for (size_t row = 0; row < t.rows.size(); ++row) {
    int label = -1;  // unknown: no label column, or an empty cell
    try {
      if (label_col) label = t.label(row, *label_col);
    } catch (const std::runtime_error& e) {
      throw DataError(e.what());
    }
    const std::string where = fmt::format("{}:{}", csv, t.lines[row]);
    if (text_col) {
      add_document(corpus, data, mode, where, label, "", t.rows[row][*text_col], where);
      continue;
    }
    const std::string& cell = t.rows[row][*path_col];
    if (cell.empty()) throw DataError(t.error(row, "empty path").what());
    const fs::path file = fs::path(cell).is_absolute() ? fs::path(cell) : root / cell;
    if (!seen.insert(file.lexically_normal().string()).second)
      throw DataError(t.error(row, "document '" + cell + "' is listed twice").what());
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
      throw DataError(fmt::format("{}: no such text file (listed at {})", file.string(), where));
    const std::string text = read_file(file, "text file");
    check_utf8(text, file.string());
    add_document(corpus, data, mode, cell, label, polarity_group(cell), text, file.string());
  }
}

}  // namespace

void check_utf8(std::string_view text, const std::string& source) {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = b[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong form
      if (c == 0xED) hi = 0x9F;  // no surrogate
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlong form
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    }
    bool ok = len > 0 && i + len <= n && b[i + 1] >= lo && b[i + 1] <= hi;
    for (size_t k = 2; ok && k < len; ++k) ok = (b[i + k] & 0xC0) == 0x80;
    if (!ok)
      throw DataError(fmt::format("{}: byte {}: invalid UTF-8 (bad sequence starting with byte 0x{:02X})", source, i,
                                  static_cast<unsigned>(c)));
    i += len;
  }
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string word;
  const auto flush = [&] {
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
  };
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_space(c)) {
      flush();
    } else if (is_punct(c)) {
      if ((c == '\'' || c == '-') && !word.empty() && is_word(static_cast<unsigned char>(text[i - 1])) && i + 1 < n &&
          is_word(static_cast<unsigned char>(text[i + 1]))) {
        word += static_cast<char>(c);
        continue;
      }
      flush();
      tokens.emplace_back(1, static_cast<char>(c));
    } else {
      word += lower(static_cast<char>(c));
    }
  }
  flush();
  return tokens;
}

SentenceSplit sentence_split_from_name(const std::string& name) {
  if (name == "lines") return SentenceSplit::lines;
  if (name == "rules") return SentenceSplit::rules;
  throw std::invalid_argument("data.sentence_split: unknown mode '" + name + "'");
}

std::vector<std::string> split_sentences(std::string_view text, SentenceSplit mode) {
  if (mode == SentenceSplit::rules) return split_rules(text);
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    add_sentence(out, text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int64_t TextDocument::num_tokens() const {
  int64_t n = 0;
  for (const auto& s : sentences) n += static_cast<int64_t>(s.size());
  return n;
}

std::string polarity_group(const std::string& file_name) {
  const size_t slash = file_name.find_last_of('/');
  const std::string_view base = std::string_view(file_name).substr(slash == std::string::npos ? 0 : slash + 1);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (base.size() >= 5 && base.substr(0, 2) == "cv" && digit(base[2]) && digit(base[3]) && digit(base[4]))
    return std::string("cv") + base[2];
  return "";
}

TextDocument parse_text_document(std::string name, int label, std::string group, std::string_view text,
                                 SentenceSplit mode) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // byte-order mark
  TextDocument doc;
  doc.name = std::move(name);
  doc.label = label;
  doc.group = std::move(group);
  for (const std::string& sentence : split_sentences(text, mode)) {
    std::vector<std::string> tokens = tokenize(sentence);
    if (!tokens.empty()) doc.sentences.push_back(std::move(tokens));
  }
  return doc;
}

TextLimits text_limits(const DataConfig& data) {
  return {data.max_tokens_per_sentence, data.max_sentences_per_document};
}

int64_t kept_sentences(const TextDocument& doc, const TextLimits& limits) {
  const auto n = static_cast<int64_t>(doc.sentences.size());
  return limits.max_sentences_per_document > 0 ? std::min(n, limits.max_sentences_per_document) : n;
}

int64_t kept_tokens(const std::vector<std::string>& sentence, const TextLimits& limits) {
  return std::min(static_cast<int64_t>(sentence.size()), limits.max_tokens_per_sentence);
}

TextInstances text_instances_from_name(const std::string& name) {
  if (name == "sentences") return TextInstances::sentences;
  if (name == "tokens") return TextInstances::tokens;
  throw std::invalid_argument("data.text_instances: unknown mode '" + name + "'");
}

std::vector<TextInstance> text_instances(const TextDocument& doc, const TextLimits& limits, TextInstances mode) {
  std::vector<TextInstance> out;
  const int64_t S = kept_sentences(doc, limits);
  for (int64_t s = 0; s < S; ++s) {
    const auto& sentence = doc.sentences[s];
    const int64_t K = kept_tokens(sentence, limits);
    if (mode == TextInstances::tokens) {
      for (int64_t t = 0; t < K; ++t) out.push_back({s, t, sentence[t]});
      continue;
    }
    TextInstance inst{s, -1, ""};
    for (int64_t t = 0; t < K; ++t) inst.text += (t ? " " : "") + sentence[t];
    out.push_back(std::move(inst));
  }
  return out;
}

// ---- Vocabulary ----------------------------------------------------------------

Vocabulary::Vocabulary() : tokens_{"<pad>", "<unk>"}, ids_{{"<pad>", kPad}, {"<unk>", kUnk}} {}

Vocabulary Vocabulary::build_from_positions(const std::vector<TextDocument>& documents,
                                            const std::vector<int64_t>& positions, int64_t min_frequency,
                                            int64_t max_size) {
  if (min_frequency < 1)
    throw std::invalid_argument(
        fmt::format("Vocabulary::build: min_frequency must be at least 1 (got {})", min_frequency));
  if (max_size < 0)
    throw std::invalid_argument(fmt::format("Vocabulary::build: max_size must be 0 or more (got {})", max_size));
  std::unordered_map<std::string, int64_t> counts;
  for (int64_t p : positions) {
    if (p < 0 || p >= static_cast<int64_t>(documents.size()))
      throw std::invalid_argument(
          fmt::format("Vocabulary::build: position {} outside the {} documents", p, documents.size()));
    for (const auto& sentence : documents[p].sentences)
      for (const std::string& token : sentence) ++counts[token];
  }
  std::vector<std::pair<int64_t, std::string>> kept;  // (-count, token): sorts by count, then byte order
  for (auto& [token, count] : counts)
    if (count >= min_frequency && token != "<pad>" && token != "<unk>") kept.emplace_back(-count, token);
  std::sort(kept.begin(), kept.end());
  if (max_size > 0 && static_cast<int64_t>(kept.size()) > max_size) kept.resize(static_cast<size_t>(max_size));
  std::vector<std::string> tokens = {"<pad>", "<unk>"};
  for (auto& entry : kept) tokens.push_back(std::move(entry.second));
  return from_tokens(std::move(tokens), "Vocabulary::build");
}

Vocabulary Vocabulary::build(const std::vector<TextDocument>& documents, int64_t min_frequency, int64_t max_size) {
  std::vector<int64_t> all(documents.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  return build_from_positions(documents, all, min_frequency, max_size);
}

Vocabulary Vocabulary::from_tokens(std::vector<std::string> tokens, const std::string& source) {
  const auto fail = [&](size_t i, const std::string& what) {
    throw DataError(fmt::format("{}:{}: {}", source, i + 1, what));
  };
  if (tokens.size() < 1 || tokens[0] != "<pad>") fail(0, "expected <pad> (id 0)");
  if (tokens.size() < 2 || tokens[1] != "<unk>") fail(1, "expected <unk> (id 1)");
  Vocabulary v;
  v.ids_.clear();
  v.ids_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t.empty()) fail(i, "empty token");
    if (std::any_of(t.begin(), t.end(), [](char c) { return is_space(static_cast<unsigned char>(c)); }))
      fail(i, "token holds whitespace");
    if (!v.ids_.emplace(t, static_cast<int64_t>(i)).second)
      fail(i, fmt::format("token '{}' comes twice (first as id {})", t, v.ids_.at(t)));
  }
  v.tokens_ = std::move(tokens);
  return v;
}

Vocabulary Vocabulary::from_text(std::string_view text, const std::string& source) {
  std::vector<std::string> tokens;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    tokens.emplace_back(line);
    start = end + 1;
  }
  return from_tokens(std::move(tokens), source);
}

std::string Vocabulary::to_text() const {
  std::string out;
  for (const std::string& t : tokens_) out += t + "\n";
  return out;
}

int64_t Vocabulary::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Vocabulary::token(int64_t id) const {
  if (id < 0 || id >= size())
    throw std::out_of_range(fmt::format("Vocabulary::token: id {} outside [0, {})", id, size()));
  return tokens_[static_cast<size_t>(id)];
}

// ---- reading documents -----------------------------------------------------------

TextCorpus read_text_documents(const DataConfig& data) {
  if (data.path.empty())
    throw DataError(
        "data.path: text_bags needs a folder with one subfolder per label, or a CSV list (path,label or "
        "text,label)");
  const SentenceSplit mode = sentence_split_from_name(data.sentence_split);
  TextCorpus corpus;
  corpus.source = data.path;
  std::error_code ec;
  if (fs::is_directory(data.path, ec))
    read_folder(corpus, data, mode);
  else if (fs::exists(data.path, ec))
    read_list(corpus, data, mode);
  else
    throw DataError(data.path + ": no such folder or file (data.path)");
  if (corpus.documents.empty())
    throw DataError(fmt::format("{}: no document left ({} empty ones skipped)", data.path, corpus.skipped_empty));
  int64_t unlabelled = 0;
  for (const TextDocument& d : corpus.documents) {
    corpus.positives += d.label == 1;
    unlabelled += d.label < 0;
    corpus.sentences += static_cast<int64_t>(d.sentences.size());
    corpus.tokens += d.num_tokens();
  }
  corpus.summary =
      fmt::format("{} documents ({} positive{}), {} sentences ({} splitting), {} tokens", corpus.documents.size(),
                  corpus.positives, unlabelled > 0 ? fmt::format(", {} unlabelled", unlabelled) : "", corpus.sentences,
                  data.sentence_split, corpus.tokens);
  if (corpus.skipped_empty > 0) corpus.summary += fmt::format(", {} empty documents skipped", corpus.skipped_empty);
  return corpus;
}

std::vector<Fold> polarity_folds(const std::vector<TextDocument>& documents) {
  std::vector<std::string> groups;
  groups.reserve(documents.size());
  for (const TextDocument& d : documents) {
    if (d.group.empty())
      throw DataError(d.name + ": no cvN group (polarity_folds needs file names starting with cvNNN)");
    groups.push_back(d.group);
  }
  return folds_from_groups(groups);
}

}  // namespace abmil
