// Text bags: the tokenizer and the sentence splitter on fixed strings, the
// vocabulary on a tiny corpus, the document reader (folder per label, CSV of
// paths or texts) and its errors, the encoding into token-id bags, the Pang &
// Lee folds, and the real polarity corpus (skipped without ABMIL_DATA).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "abmil/config/config.h"
#include "abmil/data/feature_bags.h"
#include "abmil/data/kinds.h"
#include "abmil/data/splits.h"
#include "abmil/data/idx_reader.h"
#include "abmil/data/mnist_bags.h"
#include "abmil/data/text.h"
#include "abmil/data/text_bags.h"
#include "abmil/train/run.h"
#include "test_util.h"

namespace fs = std::filesystem;
using abmil_test::error_of;
using abmil_test::TempDir;
using namespace abmil;

namespace {

using Tokens = std::vector<std::string>;

const auto write = abmil_test::write_text;

/// A document from sentences of space-separated tokens.
TextDocument doc(const std::string& name, int label, const std::vector<std::string>& sentences) {
  TextDocument d;
  d.name = name;
  d.label = label;
  d.group = polarity_group(name);
  for (const std::string& s : sentences) d.sentences.push_back(tokenize(s));
  return d;
}

/// A text_bags data config reading `path`.
DataConfig text_config(const fs::path& path) {
  DataConfig d;
  d.kind = "text_bags";
  d.path = path.string();
  return d;
}

/// The int64 tensor `t` as nested vectors (rows).
std::vector<std::vector<int64_t>> rows_of(const torch::Tensor& t) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t i = 0; i < t.size(0); ++i) {
    const torch::Tensor r = t[i].contiguous();
    out.emplace_back(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
  }
  return out;
}

// ---- tokenizer ----------------------------------------------------------------

TEST(TextTokenize, LowerCasesAndSplitsOffPunctuation) {
  EXPECT_EQ(tokenize("Films adapted from comic books (Batman, Superman) -- don't miss the 12-part series!"),
            (Tokens{"films", "adapted", "from", "comic", "books", "(", "batman", ",", "superman", ")", "-", "-",
                    "don't", "miss", "the", "12-part", "series", "!"}));
}

TEST(TextTokenize, ApostropheAndHyphenStayOnlyBetweenWordCharacters) {
  EXPECT_EQ(tokenize("'80s rock'n'roll well- known -ish it's dogs' x-"),
            (Tokens{"'", "80s", "rock'n'roll", "well", "-", "known", "-", "ish", "it's", "dogs", "'", "x", "-"}));
  EXPECT_EQ(tokenize("a--b o''k"), (Tokens{"a", "-", "-", "b", "o", "'", "'", "k"}));
}

TEST(TextTokenize, EveryOtherAsciiPunctuationIsATokenOfItsOwn) {
  EXPECT_EQ(tokenize("Wait... $3.50 & e-mail@x.org"),
            (Tokens{"wait", ".", ".", ".", "$", "3", ".", "50", "&", "e-mail", "@", "x", ".", "org"}));
  EXPECT_EQ(tokenize("!\"#%*+/:;<=>?[\\]^_`{|}~"), (Tokens{"!", "\"", "#",  "%", "*", "+", "/", ":", ";", "<", "=", ">",
                                                           "?", "[",  "\\", "]", "^", "_", "`", "{", "|", "}", "~"}));
}

TEST(TextTokenize, KeepsUtf8BytesInsideTokens) {
  // Only ASCII is lower-cased and split: É stays upper, curly quotes stay attached.
  EXPECT_EQ(tokenize("Café-Crème ÉTÉ naïve’s “Quote”"), (Tokens{"café-crème", "ÉtÉ", "naïve’s", "“quote”"}));
}

TEST(TextTokenize, AsciiWhitespaceSeparates) {
  EXPECT_EQ(tokenize("a\tb\r\nc\vd\fe  f"), (Tokens{"a", "b", "c", "d", "e", "f"}));
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_TRUE(tokenize(" \n\t ").empty());
}

// ---- sentence splitter -------------------------------------------------------------

TEST(TextSentences, LinesModeGivesOneSentencePerNonBlankLine) {
  EXPECT_EQ(split_sentences("first line . \n\n  \r\nsecond line\r\nthird. still third", SentenceSplit::lines),
            (Tokens{"first line .", "second line", "third. still third"}));
  EXPECT_TRUE(split_sentences("\n \n", SentenceSplit::lines).empty());
}

TEST(TextSentences, RulesModeEndsAtRunsOfPunctuation) {
  EXPECT_EQ(split_sentences("Hello world. How are you?! I'm fine... Thanks", SentenceSplit::rules),
            (Tokens{"Hello world.", "How are you?!", "I'm fine...", "Thanks"}));
  // Closing quotes and brackets stay with their sentence; no whitespace after the run, no end.
  EXPECT_EQ(
      split_sentences("He said \"Stop.\" Then (it ended.) Next!\"\nwww.example.org is a site.", SentenceSplit::rules),
      (Tokens{"He said \"Stop.\"", "Then (it ended.)", "Next!\"", "www.example.org is a site."}));
  EXPECT_EQ(split_sentences("Wow.\xE2\x80\x9D Yes.", SentenceSplit::rules), (Tokens{"Wow.\xE2\x80\x9D", "Yes."}));
}

TEST(TextSentences, RulesModeKeepsAbbreviationsInitialsAndDecimals) {
  EXPECT_EQ(split_sentences("Mr. Smith met Dr. Who vs. the Daleks, e.g. in St. Louis etc. and J. R. R. Tolkien "
                            "paid 3.5 dollars (i.e. too much). The end.",
                            SentenceSplit::rules),
            (Tokens{"Mr. Smith met Dr. Who vs. the Daleks, e.g. in St. Louis etc. and J. R. R. Tolkien paid 3.5 "
                    "dollars (i.e. too much).",
                    "The end."}));
  // Mrs. and (MR. after a bracket); a lower-case single letter is no initial; "?" after an abbreviation ends.
  EXPECT_EQ(split_sentences("(Mrs. Jones and MR. Brown) came. Plan b. Next. Really, Dr.? Yes", SentenceSplit::rules),
            (Tokens{"(Mrs. Jones and MR. Brown) came.", "Plan b.", "Next.", "Really, Dr.?", "Yes"}));
}

TEST(TextSentences, RulesModeBlankLineEndsASentence) {
  EXPECT_EQ(split_sentences("A Title\n\n  \nBody text\ncontinues here. Done\n", SentenceSplit::rules),
            (Tokens{"A Title", "Body text\ncontinues here.", "Done"}));
  EXPECT_TRUE(split_sentences(" \n\n ", SentenceSplit::rules).empty());
}

TEST(TextSentences, ModeNames) {
  EXPECT_EQ(sentence_split_from_name("lines"), SentenceSplit::lines);
  EXPECT_EQ(sentence_split_from_name("rules"), SentenceSplit::rules);
  EXPECT_EQ(error_of<std::invalid_argument>([] { sentence_split_from_name("words"); }),
            "data.sentence_split: unknown mode 'words'");
  EXPECT_EQ(text_instances_from_name("tokens"), TextInstances::tokens);
  EXPECT_EQ(error_of<std::invalid_argument>([] { text_instances_from_name("words"); }),
            "data.text_instances: unknown mode 'words'");
}

TEST(TextSentences, ParseDocumentDropsByteOrderMarkAndTokenizes) {
  const TextDocument d =
      parse_text_document("n", 1, "g", "\xEF\xBB\xBFThe film . \n\nIt's GOOD ! \n", SentenceSplit::lines);
  EXPECT_EQ(d.name, "n");
  EXPECT_EQ(d.label, 1);
  EXPECT_EQ(d.group, "g");
  EXPECT_EQ(d.sentences, (std::vector<Tokens>{{"the", "film", "."}, {"it's", "good", "!"}}));
  EXPECT_EQ(d.num_tokens(), 6);
  EXPECT_TRUE(parse_text_document("n", 0, "", " . ", SentenceSplit::lines).sentences.size() == 1);
  EXPECT_TRUE(parse_text_document("n", 0, "", " \n\t\n", SentenceSplit::rules).sentences.empty());
}

// ---- vocabulary ---------------------------------------------------------------------

/// Training documents 0 and 1; document 2 stands for a test document.
std::vector<TextDocument> tiny_corpus() {
  return {doc("d0", 0, {"the cat sat", "the dog"}), doc("d1", 1, {"a cat !"}), doc("d2", 1, {"zebra zebra zebra"})};
}

TEST(TextVocabulary, IdsByDescendingCountThenByteOrder) {
  const auto docs = tiny_corpus();
  const Vocabulary v = Vocabulary::build_from_positions(docs, {0, 1}, 1);
  // counts: the 2, cat 2, then 1 each: ! a dog sat (byte order); zebra only in document 2.
  EXPECT_EQ(v.tokens(), (Tokens{"<pad>", "<unk>", "cat", "the", "!", "a", "dog", "sat"}));
  EXPECT_EQ(v.size(), 8);
  EXPECT_EQ(v.id("<pad>"), Vocabulary::kPad);
  EXPECT_EQ(v.id("<unk>"), Vocabulary::kUnk);
  EXPECT_EQ(v.id("cat"), 2);
  EXPECT_EQ(v.id("sat"), 7);
  EXPECT_EQ(v.id("zebra"), 1);
  EXPECT_EQ(v.id(""), 1);
  EXPECT_EQ(v.token(3), "the");
  EXPECT_EQ(error_of<std::out_of_range>([&] { v.token(8); }), "Vocabulary::token: id 8 outside [0, 8)");
  EXPECT_EQ(error_of<std::out_of_range>([&] { v.token(-1); }), "Vocabulary::token: id -1 outside [0, 8)");
}

TEST(TextVocabulary, MinFrequencyAndMaxSize) {
  const auto docs = tiny_corpus();
  EXPECT_EQ(Vocabulary::build_from_positions(docs, {0, 1}, 2).tokens(), (Tokens{"<pad>", "<unk>", "cat", "the"}));
  EXPECT_EQ(Vocabulary::build_from_positions(docs, {0, 1}, 1, 3).tokens(),
            (Tokens{"<pad>", "<unk>", "cat", "the", "!"}));
  EXPECT_EQ(Vocabulary::build_from_positions(docs, {0, 1}, 3).tokens(), (Tokens{"<pad>", "<unk>"}));
  // All documents: zebra (3) comes first.
  EXPECT_EQ(Vocabulary::build(docs, 2).tokens(), (Tokens{"<pad>", "<unk>", "zebra", "cat", "the"}));
  EXPECT_EQ(Vocabulary().tokens(), (Tokens{"<pad>", "<unk>"}));
  EXPECT_EQ(Vocabulary().id("the"), 1);
  EXPECT_EQ(error_of<std::invalid_argument>([&] { Vocabulary::build(docs, 0); }),
            "Vocabulary::build: min_frequency must be at least 1 (got 0)");
  EXPECT_EQ(error_of<std::invalid_argument>([&] { Vocabulary::build(docs, 1, -1); }),
            "Vocabulary::build: max_size must be 0 or more (got -1)");
  EXPECT_EQ(error_of<std::invalid_argument>([&] { Vocabulary::build_from_positions(docs, {3}, 1); }),
            "Vocabulary::build: position 3 outside the 3 documents");
}

TEST(TextVocabulary, RoundTripsThroughText) {
  const Vocabulary v = Vocabulary::build_from_positions(tiny_corpus(), {0, 1}, 2);
  EXPECT_EQ(v.to_text(), "<pad>\n<unk>\ncat\nthe\n");
  EXPECT_EQ(Vocabulary::from_text(v.to_text()).tokens(), v.tokens());
  EXPECT_EQ(Vocabulary::from_text("<pad>\r\n<unk>\r\ncat\r\nthe").tokens(), v.tokens());
  EXPECT_EQ(Vocabulary::from_text("<pad>\n<unk>\ncat\nthe\n").id("the"), 3);
  EXPECT_EQ(Vocabulary::from_tokens(v.tokens()).id("cat"), 2);
}

TEST(TextVocabulary, FromTextErrorsNameSourceAndLine) {
  const auto err = [](const std::string& text) {
    return error_of<DataError>([&] { Vocabulary::from_text(text, "run/vocabulary.txt"); });
  };
  EXPECT_EQ(err(""), "run/vocabulary.txt:1: expected <pad> (id 0)");
  EXPECT_EQ(err("<unk>\n<pad>\n"), "run/vocabulary.txt:1: expected <pad> (id 0)");
  EXPECT_EQ(err("<pad>\n"), "run/vocabulary.txt:2: expected <unk> (id 1)");
  EXPECT_EQ(err("<pad>\n<unk>\na\nb\na\n"), "run/vocabulary.txt:5: token 'a' comes twice (first as id 2)");
  EXPECT_EQ(err("<pad>\n<unk>\n\nb\n"), "run/vocabulary.txt:3: empty token");
  EXPECT_EQ(err("<pad>\n<unk>\na b\n"), "run/vocabulary.txt:3: token holds whitespace");
}

// ---- reading documents --------------------------------------------------------------

TEST(TextDocuments, ReadsAFolderPerLabelInNameOrder) {
  TempDir tmp("text_folder");
  write(tmp.path / "pos" / "cv917_y.txt", "a great film . \nsee it ! \n");
  write(tmp.path / "pos" / "cv003_x.txt", "loved it . \n");
  write(tmp.path / "neg" / "b.txt", "dull . \n");
  write(tmp.path / "neg" / "a.txt", "Boring\n\nplot .");
  write(tmp.path / "neg" / "notes.md", "not a document\n");
  fs::create_directories(tmp.path / "neg" / "sub.txt");  // a folder, not a file
  write(tmp.path / "neg" / "sub.txt" / "deep.txt", "not read ( no recursion )\n");
  const TextCorpus c = read_text_documents(text_config(tmp.path));
  ASSERT_EQ(c.documents.size(), 4u);
  std::vector<std::string> names, groups;
  std::vector<int> labels;
  for (const auto& d : c.documents) {
    names.push_back(d.name);
    groups.push_back(d.group);
    labels.push_back(d.label);
  }
  EXPECT_EQ(names, (Tokens{"neg/a.txt", "neg/b.txt", "pos/cv003_x.txt", "pos/cv917_y.txt"}));
  EXPECT_EQ(groups, (Tokens{"", "", "cv0", "cv9"}));
  EXPECT_EQ(labels, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(c.documents[0].sentences, (std::vector<Tokens>{{"boring"}, {"plot", "."}}));
  EXPECT_EQ(c.documents[3].sentences, (std::vector<Tokens>{{"a", "great", "film", "."}, {"see", "it", "!"}}));
  EXPECT_EQ(c.positives, 2);
  EXPECT_EQ(c.sentences, 6);
  EXPECT_EQ(c.tokens, 15);
  EXPECT_EQ(c.skipped_empty, 0);
  EXPECT_EQ(c.summary, "4 documents (2 positive), 6 sentences (lines splitting), 15 tokens");

  // Other folder names; rules splitting.
  fs::rename(tmp.path / "pos", tmp.path / "good");
  DataConfig cfg = text_config(tmp.path);
  cfg.positive_folder = "good";
  cfg.sentence_split = "rules";
  const TextCorpus r = read_text_documents(cfg);
  ASSERT_EQ(r.documents.size(), 4u);
  EXPECT_EQ(r.documents[0].sentences, (std::vector<Tokens>{{"boring"}, {"plot", "."}}));
  EXPECT_EQ(r.documents[3].name, "good/cv917_y.txt");
  EXPECT_EQ(r.documents[3].sentences, (std::vector<Tokens>{{"a", "great", "film", "."}, {"see", "it", "!"}}));
}

TEST(TextDocuments, ReadsACsvOfPathsOrOfTexts) {
  TempDir tmp("text_csv");
  write(tmp.path / "docs" / "cv101_1.txt", "fine . \n");
  write(tmp.path / "docs" / "two.txt", "bad . \nworse . \n");
  write(tmp.path / "abs.txt", "absolute path .\n");
  write(tmp.path / "list.csv",
        "label,path\n1,docs/cv101_1.txt\n0,docs/two.txt\n0," + (tmp.path / "abs.txt").string() + "\n");
  const TextCorpus p = read_text_documents(text_config(tmp.path / "list.csv"));
  ASSERT_EQ(p.documents.size(), 3u);
  EXPECT_EQ(p.documents[0].name, "docs/cv101_1.txt");
  EXPECT_EQ(p.documents[0].group, "cv1");
  EXPECT_EQ(p.documents[0].label, 1);
  EXPECT_EQ(p.documents[1].sentences, (std::vector<Tokens>{{"bad", "."}, {"worse", "."}}));
  EXPECT_EQ(p.documents[2].sentences, (std::vector<Tokens>{{"absolute", "path", "."}}));

  const fs::path csv = tmp.path / "texts.csv";
  write(csv, "text,label\n\"Great film, really. Loved it!\",1\n\n\"Boring \"\"plot\"\".\",0\nno quotes here,0\n");
  DataConfig cfg = text_config(csv);
  cfg.sentence_split = "rules";
  const TextCorpus t = read_text_documents(cfg);
  ASSERT_EQ(t.documents.size(), 3u);
  EXPECT_EQ(t.documents[0].name, csv.string() + ":2");
  EXPECT_EQ(t.documents[0].group, "");
  EXPECT_EQ(t.documents[0].sentences,
            (std::vector<Tokens>{{"great", "film", ",", "really", "."}, {"loved", "it", "!"}}));
  EXPECT_EQ(t.documents[1].name, csv.string() + ":4");
  EXPECT_EQ(t.documents[1].sentences, (std::vector<Tokens>{{"boring", "\"", "plot", "\"", "."}}));
  EXPECT_EQ(t.documents[2].label, 0);
}

TEST(TextDocuments, EmptyDocumentIsAnErrorOrASkip) {
  TempDir tmp("text_empty");
  write(tmp.path / "pos" / "a.txt", "good . \n");
  write(tmp.path / "pos" / "b.txt", " \n\t\n");
  write(tmp.path / "neg" / "c.txt", "bad . \n");
  DataConfig cfg = text_config(tmp.path);
  EXPECT_EQ(error_of<DataError>([&] { read_text_documents(cfg); }),
            (tmp.path / "pos" / "b.txt").string() +
                ": empty document, no token (data.empty_documents: skip leaves such documents out)");
  cfg.empty_documents = "skip";
  const TextCorpus c = read_text_documents(cfg);
  EXPECT_EQ(c.documents.size(), 2u);
  EXPECT_EQ(c.skipped_empty, 1);
  EXPECT_EQ(c.summary, "2 documents (1 positive), 2 sentences (lines splitting), 4 tokens, 1 empty documents skipped");

  // A CSV text cell names the list and its line; nothing left at all is an error too.
  write(tmp.path / "t.csv", "text,label\n\"  \",1\n");
  cfg = text_config(tmp.path / "t.csv");
  EXPECT_EQ(error_of<DataError>([&] { read_text_documents(cfg); }),
            (tmp.path / "t.csv").string() +
                ":2: empty document, no token (data.empty_documents: skip leaves such documents out)");
  cfg.empty_documents = "skip";
  EXPECT_EQ(error_of<DataError>([&] { read_text_documents(cfg); }),
            (tmp.path / "t.csv").string() + ": no document left (1 empty ones skipped)");
}

TEST(TextDocuments, InvalidUtf8NamesFileAndByteOffset) {
  TempDir tmp("text_utf8");
  write(tmp.path / "neg" / "ok.txt", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E . \n");  // é € 𝄞
  write(tmp.path / "pos" / "latin1.txt", "good text\nbad \xC3\x28 here\n");
  const fs::path bad = tmp.path / "pos" / "latin1.txt";
  EXPECT_EQ(error_of<DataError>([&] { read_text_documents(text_config(tmp.path)); }),
            bad.string() + ": byte 14: invalid UTF-8 (bad sequence starting with byte 0xC3)");

  const auto err = [](const std::string& text) { return error_of<DataError>([&] { check_utf8(text, "F"); }); };
  EXPECT_EQ(err("ok \xFF"), "F: byte 3: invalid UTF-8 (bad sequence starting with byte 0xFF)");
  EXPECT_EQ(err("\xC0\xAF"), "F: byte 0: invalid UTF-8 (bad sequence starting with byte 0xC0)");        // overlong '/'
  EXPECT_EQ(err("a\xE0\x80\xAF"), "F: byte 1: invalid UTF-8 (bad sequence starting with byte 0xE0)");   // overlong
  EXPECT_EQ(err("ab\xED\xA0\x80"), "F: byte 2: invalid UTF-8 (bad sequence starting with byte 0xED)");  // surrogate
  EXPECT_EQ(err("\xF4\x90\x80\x80"), "F: byte 0: invalid UTF-8 (bad sequence starting with byte 0xF4)");  // > U+10FFFF
  EXPECT_EQ(err("abc\xE2\x82"), "F: byte 3: invalid UTF-8 (bad sequence starting with byte 0xE2)");       // cut short
  EXPECT_EQ(err("\x80"), "F: byte 0: invalid UTF-8 (bad sequence starting with byte 0x80)");  // lone continuation
  EXPECT_EQ(err("\xE2\x82\xAC\xE2\x28\xAC"), "F: byte 3: invalid UTF-8 (bad sequence starting with byte 0xE2)");
  EXPECT_EQ(err("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E \xEF\xBB\xBF"), "<nothing thrown>");

  // In a CSV list the offset is the list's own.
  write(tmp.path / "t.csv", "text,label\n\"ok\",1\n\"n\xFFo\",0\n");
  EXPECT_EQ(error_of<DataError>([&] { read_text_documents(text_config(tmp.path / "t.csv")); }),
            (tmp.path / "t.csv").string() + ": byte 20: invalid UTF-8 (bad sequence starting with byte 0xFF)");
}

TEST(TextDocuments, MissingFolderOrFileNamesThePath) {
  TempDir tmp("text_missing");
  const auto err = [](const DataConfig& cfg) { return error_of<DataError>([&] { read_text_documents(cfg); }); };
  EXPECT_EQ(err(text_config(tmp.path / "nothing")),
            (tmp.path / "nothing").string() + ": no such folder or file (data.path)");
  EXPECT_EQ(err(text_config("")),
            "data.path: text_bags needs a folder with one subfolder per label, or a CSV list (path,label or "
            "text,label)");
  write(tmp.path / "pos" / "a.txt", "good .\n");
  EXPECT_EQ(err(text_config(tmp.path)),
            (tmp.path / "neg").string() + ": no such folder (data.negative_folder of data.path)");
  write(tmp.path / "neg" / "readme.md", "no text file here\n");
  EXPECT_EQ(err(text_config(tmp.path)),
            (tmp.path / "neg").string() + ": no .txt file (data.negative_folder of data.path)");
  DataConfig cfg = text_config(tmp.path);
  cfg.negative_folder = "pos";
  cfg.positive_folder = "positive";
  EXPECT_EQ(err(cfg), (tmp.path / "positive").string() + ": no such folder (data.positive_folder of data.path)");

  write(tmp.path / "list.csv", "path,label\npos/a.txt,1\n\ngone.txt,0\n");
  EXPECT_EQ(
      err(text_config(tmp.path / "list.csv")),
      (tmp.path / "gone.txt").string() + ": no such text file (listed at " + (tmp.path / "list.csv").string() + ":4)");
  write(tmp.path / "twice.csv", "path,label\npos/a.txt,1\n./pos/a.txt,0\n");
  EXPECT_EQ(err(text_config(tmp.path / "twice.csv")),
            (tmp.path / "twice.csv").string() + ":3: document './pos/a.txt' is listed twice");
}

TEST(TextDocuments, CsvListErrorsNameFileAndLine) {
  TempDir tmp("text_csv_errors");
  const auto err = [&](const std::string& text) {
    write(tmp.path / "l.csv", text);
    return error_of<DataError>([&] { read_text_documents(text_config(tmp.path / "l.csv")); });
  };
  const std::string p = (tmp.path / "l.csv").string();
  EXPECT_EQ(err("file,label\na.txt,1\n"), p + ":1: no column 'path' or 'text' in the header");
  EXPECT_EQ(err("path,text,label\na.txt,b,1\n"), p + ":1: both a 'path' and a 'text' column; keep one");
  EXPECT_EQ(err("text,label\n"), p + ": no documents listed");
  EXPECT_EQ(err("text,label\nfine,1\nbad,2\n"), p + ":3: '2' is not a 0/1 label (column 'label')");
  EXPECT_EQ(err("path,label\n,1\n"), p + ":2: empty path");
  EXPECT_EQ(err("text,label\n\"fine,1\n"), p + ":2: quoted cell not closed on its line");
}

// ---- encoding -------------------------------------------------------------------------

/// Documents for the encoding tests; vocabulary <pad> <unk> the cat dog.
std::vector<TextDocument> encoding_corpus() {
  return {doc("d0", 1, {"the cat sat on mat", "zebra"}), doc("d1", 0, {"the dog"}),
          doc("d2", 1, {"cat", "the", "dog"})};
}

TEST(TextEncoding, SentencesArePaddedTruncatedRowsOfTokenIds) {
  const auto docs = encoding_corpus();
  const Vocabulary vocab = Vocabulary::from_tokens({"<pad>", "<unk>", "the", "cat", "dog"});
  TextEncodingStats stats;
  stats.documents = 10;  // encode_documents adds to what is there
  const BagSplit s = encode_documents(docs, {2, 0, 1}, vocab, {3, 2}, TextInstances::sentences, "train", &stats);
  EXPECT_EQ(s.name, "train");
  EXPECT_EQ(s.instances.scalar_type(), torch::kLong);
  EXPECT_EQ(s.instances.sizes().vec(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(rows_of(s.instances),
            (std::vector<std::vector<int64_t>>{{3, 0, 0},
                                               {2, 0, 0},  // d2, its third sentence dropped (N = 2)
                                               {2, 3, 1},
                                               {1, 0, 0},     // d0: "on mat" cut off (T = 3), unknown-only row stays
                                               {2, 4, 0}}));  // d1
  EXPECT_EQ(s.offsets, (std::vector<int64_t>{0, 2, 4, 5}));
  ASSERT_EQ(s.num_bags(), 3);
  EXPECT_EQ(s.bags[0].id, 2);
  EXPECT_EQ(s.bags[1].id, 0);
  EXPECT_EQ(s.bags[2].id, 1);
  EXPECT_EQ(s.bags[0].label, 1);
  EXPECT_EQ(s.bags[2].label, 0);
  EXPECT_EQ(s.bags[1].source_indices, (std::vector<int64_t>{2, 3}));  // rows 2, 3 of the split
  EXPECT_EQ(s.bags[1].instance_labels, (std::vector<int>{-1, -1}));
  EXPECT_EQ(stats.documents, 13);
  EXPECT_EQ(stats.sentences, 5);
  EXPECT_EQ(stats.tokens, 8);
  EXPECT_EQ(stats.unknown_tokens, 2);  // sat, zebra
  EXPECT_EQ(stats.truncated_sentences, 1);
  EXPECT_EQ(stats.dropped_tokens, 2);
  EXPECT_EQ(stats.truncated_documents, 1);
  EXPECT_EQ(stats.dropped_sentences, 1);

  // model_input passes the ids through; batches concatenate them.
  EXPECT_TRUE(model_input(s, s.instances).is_same(s.instances));
  const BagBatch b = make_batch(s, {2, 0});
  EXPECT_EQ(rows_of(b.instances), (std::vector<std::vector<int64_t>>{{2, 4, 0}, {3, 0, 0}, {2, 0, 0}}));
  EXPECT_EQ(b.instances.scalar_type(), torch::kLong);

  // No limit on sentences: d2 keeps all three.
  const BagSplit all = encode_documents(docs, {2}, vocab, {3, 0}, TextInstances::sentences, "all");
  EXPECT_EQ(rows_of(all.instances), (std::vector<std::vector<int64_t>>{{3, 0, 0}, {2, 0, 0}, {4, 0, 0}}));
  const BagSplit none = encode_documents(docs, {}, vocab, {3, 0}, TextInstances::sentences, "empty");
  EXPECT_EQ(none.instances.sizes().vec(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(none.offsets, (std::vector<int64_t>{0}));
}

TEST(TextEncoding, TokensAreSingleIdInstances) {
  const auto docs = encoding_corpus();
  const Vocabulary vocab = Vocabulary::from_tokens({"<pad>", "<unk>", "the", "cat", "dog"});
  TextEncodingStats stats;
  const BagSplit s = encode_documents(docs, {2, 0, 1}, vocab, {3, 2}, TextInstances::tokens, "test", &stats);
  EXPECT_EQ(s.instances.sizes().vec(), (std::vector<int64_t>{8, 1}));
  EXPECT_TRUE(torch::equal(s.instances.view({-1}), torch::tensor({3, 2, 2, 3, 1, 1, 2, 4}, torch::kLong)));
  EXPECT_EQ(s.offsets, (std::vector<int64_t>{0, 2, 6, 8}));
  EXPECT_EQ(s.bags[1].source_indices, (std::vector<int64_t>{2, 3, 1, 1}));  // the token ids
  EXPECT_EQ(stats.tokens, 8);
  EXPECT_EQ(stats.truncated_sentences, 1);
  EXPECT_EQ(stats.dropped_sentences, 1);
}

TEST(TextEncoding, TextInstancesMatchTheBagOrder) {
  const auto docs = encoding_corpus();
  const std::vector<TextInstance> sent = text_instances(docs[0], {3, 2}, TextInstances::sentences);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].sentence, 0);
  EXPECT_EQ(sent[0].token, -1);
  EXPECT_EQ(sent[0].text, "the cat sat");
  EXPECT_EQ(sent[1].text, "zebra");
  const std::vector<TextInstance> tok = text_instances(docs[2], {3, 2}, TextInstances::tokens);
  ASSERT_EQ(tok.size(), 2u);
  EXPECT_EQ(tok[1].sentence, 1);
  EXPECT_EQ(tok[1].token, 0);
  EXPECT_EQ(tok[1].text, "the");
  EXPECT_EQ(text_instances(docs[0], {2, 1}, TextInstances::tokens).size(), 2u);
}

TEST(TextEncoding, RejectsBadArguments) {
  const auto docs = encoding_corpus();
  const Vocabulary vocab;
  EXPECT_EQ(error_of<std::out_of_range>([&] {
              encode_documents(docs, {3}, vocab, {3, 2}, TextInstances::sentences, "x");
            }),
            "encode_documents: position 3 outside the 3 documents");
  EXPECT_EQ(error_of<std::invalid_argument>([&] {
              encode_documents(docs, {0}, vocab, {0, 2}, TextInstances::sentences, "x");
            }),
            "encode_documents: max_tokens_per_sentence must be at least 1 (got 0)");
  std::vector<TextDocument> empty = {doc("e", 0, {})};
  EXPECT_EQ(error_of<std::invalid_argument>([&] {
              encode_documents(empty, {0}, vocab, {3, 2}, TextInstances::tokens, "x");
            }),
            "encode_documents: document 'e' has no sentence");
}

TEST(TextEncoding, LoadTextBagsBuildsTheVocabularyFromTrainingDocumentsOnly) {
  TempDir tmp("text_load");
  // 12 documents per label; each has a word of its own used twice, so that
  // the vocabulary (min frequency 2) holds exactly the training documents' own words.
  for (int i = 0; i < 24; ++i)
    write(tmp.path / (i % 2 ? "pos" : "neg") / ("cv" + std::to_string(100 + i) + "_d.txt"),
          std::string(i % 2 ? "good" : "bad") + " film . \nown" + std::to_string(i) + " own" + std::to_string(i) +
              " . \n");
  DataConfig cfg = text_config(tmp.path);
  cfg.max_tokens_per_sentence = 4;
  const MilData d = load_data(cfg, 7);
  const TextCorpus corpus = read_text_documents(cfg);
  std::vector<int> labels;
  for (const auto& doc : corpus.documents) labels.push_back(doc.label);
  const HeldOutPositions held = hold_out_positions(labels, {}, cfg, 7, cfg.path);
  const auto ids = [](const BagSplit& s) {
    std::vector<int64_t> out;
    for (const Bag& b : s.bags) out.push_back(b.id);
    return out;
  };
  EXPECT_EQ(ids(d.train), held.train);
  EXPECT_EQ(ids(d.validation), held.validation);
  EXPECT_EQ(ids(d.test), held.test);
  EXPECT_EQ(held.train.size() + held.validation.size() + held.test.size(), 24u);
  EXPECT_FALSE(held.test.empty());
  EXPECT_FALSE(held.validation.empty());

  EXPECT_EQ(d.vocabulary, Vocabulary::build_from_positions(corpus.documents, held.train, 2).tokens());
  std::set<std::string> own;
  for (const std::string& t : d.vocabulary)
    if (t.rfind("own", 0) == 0) own.insert(t);
  std::set<std::string> expected;
  for (int64_t p : held.train)  // names "neg/cv1NN_d.txt": i = 1NN - 100
    expected.insert("own" + std::to_string(std::stoi(corpus.documents[p].name.substr(6, 3)) - 100));
  EXPECT_EQ(own, expected);
  EXPECT_EQ(d.instance_shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(d.train.instances.size(1), 4);
  // Test documents' own words are unknown there.
  const torch::Tensor test_rows = d.test.instances;
  EXPECT_GT((test_rows == Vocabulary::kUnk).sum().item<int64_t>(), 0);
  EXPECT_NE(d.summary.find("text_bags from " + cfg.path + ": 24 documents (12 positive), 48 sentences"),
            std::string::npos)
      << d.summary;
  EXPECT_NE(d.summary.find("0 of 48 sentences cut to 4 tokens (0 tokens dropped), 0 documents cut to 100 sentences"),
            std::string::npos)
      << d.summary;

  cfg.text_instances = "tokens";
  const MilData t = load_text_bags(cfg, 7);
  EXPECT_EQ(t.instance_shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(t.train.instances.size(1), 1);
  EXPECT_EQ(t.train.num_instances(), 6 * static_cast<int64_t>(held.train.size()));
}

// ---- folds ------------------------------------------------------------------------------

TEST(TextFolds, GroupFromTheCvPrefixOfTheFileName) {
  EXPECT_EQ(polarity_group("cv003_x.txt"), "cv0");
  EXPECT_EQ(polarity_group("pos/cv917_y.txt"), "cv9");
  EXPECT_EQ(polarity_group("cv999"), "cv9");
  EXPECT_EQ(polarity_group("cv12_a.txt"), "");
  EXPECT_EQ(polarity_group("xcv123.txt"), "");
  EXPECT_EQ(polarity_group("cv/123.txt"), "");
  EXPECT_EQ(polarity_group("cv1x3.txt"), "");
}

TEST(TextFolds, FoldKTestsOnFilesCvK00ToCvK99) {
  std::vector<TextDocument> docs;
  for (int k = 0; k < 10; ++k) docs.push_back(doc("neg/cv" + std::to_string(k) + "50_n.txt", 0, {"x"}));
  docs.push_back(doc("pos/cv003_x.txt", 1, {"x"}));  // position 10
  docs.push_back(doc("pos/cv917_y.txt", 1, {"x"}));  // position 11
  const std::vector<Fold> folds = polarity_folds(docs);
  ASSERT_EQ(folds.size(), 10u);
  EXPECT_EQ(folds[0].test, (std::vector<int64_t>{0, 10}));
  EXPECT_EQ(folds[9].test, (std::vector<int64_t>{9, 11}));
  EXPECT_EQ(folds[4].test, (std::vector<int64_t>{4}));
  EXPECT_EQ(folds[9].train.size(), 10u);
  docs.push_back(doc("neg/other.txt", 0, {"x"}));
  EXPECT_EQ(error_of<DataError>([&] { polarity_folds(docs); }),
            "neg/other.txt: no cvN group (polarity_folds needs file names starting with cvNNN)");
}

// ---- the real corpus ---------------------------------------------------------------------

TEST(TextDocuments, RealPolarityCorpus) {
  const char* root = std::getenv("ABMIL_DATA");
  const fs::path dir = root ? fs::path(root) / "movie_review_polarity" / "txt_sentoken" : fs::path();
  if (!root || !fs::is_directory(dir / "pos"))
    GTEST_SKIP() << "ABMIL_DATA not set or $ABMIL_DATA/movie_review_polarity/txt_sentoken/pos missing: set "
                    "ABMIL_DATA to the folder holding movie_review_polarity/ (Pang & Lee polarity v2.0)";
  const DataConfig cfg = text_config(dir);
  const TextCorpus c = read_text_documents(cfg);
  ASSERT_EQ(c.documents.size(), 2000u);
  EXPECT_EQ(c.positives, 1000);
  EXPECT_EQ(c.sentences, 64720);  // SOURCE.md: 64720 lines, none blank
  EXPECT_EQ(c.tokens, 1503902);   // 1,492,663 whitespace-separated; more with "'80s" -> "'", "80s" etc.
  EXPECT_EQ(c.skipped_empty, 0);
  EXPECT_EQ(c.documents.front().name, "neg/cv000_29416.txt");
  EXPECT_EQ(c.documents.back().name, "pos/cv999_13106.txt");
  size_t shortest = 1000, longest = 0;
  for (const auto& d : c.documents) {
    shortest = std::min(shortest, d.sentences.size());
    longest = std::max(longest, d.sentences.size());
  }
  EXPECT_EQ(shortest, 1u);
  EXPECT_EQ(longest, 112u);

  const std::vector<Fold> folds = polarity_folds(c.documents);
  ASSERT_EQ(folds.size(), 10u);
  for (const Fold& f : folds) {
    EXPECT_EQ(f.test.size(), 200u) << "fold " << f.fold;
    int positives = 0;
    for (int64_t p : f.test) positives += c.documents[p].label;
    EXPECT_EQ(positives, 100) << "fold " << f.fold;
    for (int64_t p : f.test) EXPECT_EQ(c.documents[p].group, "cv" + std::to_string(f.fold));
  }

  // Default limits (T = 50, N = 100): the only truncations.
  const Vocabulary vocab = Vocabulary::build(c.documents, 2);
  EXPECT_EQ(vocab.size(), 28028);
  EXPECT_EQ(vocab.tokens()[2], ",");
  EXPECT_EQ(vocab.tokens()[3], "the");
  std::vector<int64_t> all(c.documents.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  TextEncodingStats s;
  const BagSplit split =
      encode_documents(c.documents, all, vocab, text_limits(cfg), TextInstances::sentences, "all", &s);
  EXPECT_EQ(split.instances.sizes().vec(), (std::vector<int64_t>{64663, 50}));
  EXPECT_EQ(s.truncated_documents, 8);
  EXPECT_EQ(s.dropped_sentences, 57);
  EXPECT_EQ(s.truncated_sentences, 2572);
  EXPECT_EQ(s.dropped_tokens, 32834);
  EXPECT_EQ(s.tokens, 1470120);
  // No limits hit with T = 179 (the longest sentence) and N = 0.
  TextEncodingStats u;
  encode_documents(c.documents, all, vocab, {179, 0}, TextInstances::tokens, "all", &u);
  EXPECT_EQ(u.sentences, 64720);
  EXPECT_EQ(u.tokens, 1503902);
  EXPECT_EQ(u.truncated_sentences + u.truncated_documents, 0);
}

}  // namespace
