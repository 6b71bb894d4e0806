// Text models: the text encoder (token embeddings pooled per sentence) on
// hand-set embeddings, the two attention levels (each summing to 1), the
// token-only mode, predict() on text bags, the token attention CSV, the
// HTML page of a document, and a small synthetic corpus trained end to end
// (train, cv by file-name groups, visualize) where the attention has to find
// the one word that decides the label.
#include <gtest/gtest.h>

#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>

#include "abmil/config/config.h"
#include "abmil/data/text.h"
#include "abmil/data/text_bags.h"
#include "abmil/io/csv_table.h"
#include "abmil/nn/mil_model.h"
#include "abmil/train/cross_validation.h"
#include "abmil/train/run.h"
#include "abmil/train/run_files.h"
#include "abmil/train/trainer.h"
#include "abmil/viz/text_html.h"
#include "abmil/viz/visualize.h"
#include "test_util.h"

namespace fs = std::filesystem;
using abmil_test::error_of;
using abmil_test::read_text;
using abmil_test::TempDir;
using namespace abmil;

namespace {

/// A text model config: encoder text, M = 4, L = 3, the given poolings.
ModelConfig text_model(const std::string& token_pooling, const std::string& pooling) {
  ModelConfig m;
  m.encoder = "text";
  m.embedding_dim = 4;
  m.attention_dim = 3;
  m.token_pooling = token_pooling;
  m.pooling = pooling;
  return m;
}

/// Sets the embedding table of `encoder` to row i = (i, 2i, -i, 1) (row 0 stays 0).
void set_embeddings(TextEncoderImpl& encoder) {
  torch::NoGradGuard no_grad;
  torch::Tensor p = encoder.named_parameters()["embedding.weight"];
  for (int64_t i = 1; i < p.size(0); ++i) p[i].copy_(torch::tensor({1.0f * i, 2.0f * i, -1.0f * i, 1.0f}));
}

/// Per-bag sums of `w` [N] over the bags of `offsets`.
std::vector<double> bag_sums(const torch::Tensor& w, const std::vector<int64_t>& offsets) {
  std::vector<double> out;
  for (size_t b = 0; b + 1 < offsets.size(); ++b)
    out.push_back(w.slice(0, offsets[b], offsets[b + 1]).sum().item<double>());
  return out;
}

const auto write = abmil_test::write_text;

/// A synthetic review corpus under `dir`: `per_group` documents per label in
/// each of the groups cv0..cv<groups-1> (file names cvKNN_x.txt). Every
/// document has 4 to 6 sentences of filler words; one of them, at a varying
/// place, holds "great" (pos) or "awful" (neg) among fillers.
void write_corpus(const fs::path& dir, int groups, int per_group) {
  const std::vector<std::string> filler = {"the",   "film",   "plot",  "actor", "scene", "a",    "of",    "and",
                                           "story", "camera", "music", "it",    "was",   "this", "movie", "director"};
  uint32_t state = 12345;
  auto next = [&](uint32_t n) {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % n;
  };
  for (int g = 0; g < groups; ++g)
    for (int i = 0; i < 2 * per_group; ++i) {
      const bool pos = i % 2 == 1;
      const int sentences = 4 + static_cast<int>(next(3));
      const int key = static_cast<int>(next(static_cast<uint32_t>(sentences)));
      std::string text;
      for (int s = 0; s < sentences; ++s) {
        const int words = 3 + static_cast<int>(next(4));
        const int key_at = static_cast<int>(next(static_cast<uint32_t>(words)));
        for (int w = 0; w < words; ++w) {
          if (s == key && w == key_at) text += pos ? "great " : "awful ";
          text += filler[next(static_cast<uint32_t>(filler.size()))] + " ";
        }
        text += ".\n";
      }
      char name[32];
      std::snprintf(name, sizeof name, "cv%d%02d_x.txt", g, i);
      write(dir / (pos ? "pos" : "neg") / name, text);
    }
}

/// A config training the text model on the corpus of write_corpus.
Config corpus_config(const fs::path& corpus, const fs::path& out) {
  Config c;
  c.data.kind = "text_bags";
  c.data.path = corpus.string();
  c.data.min_token_frequency = 1;
  c.data.max_tokens_per_sentence = 8;
  c.data.test_fraction = 0.25;
  c.data.validation_fraction = 0.15;
  c.model = text_model("gated_attention", "gated_attention");
  c.model.embedding_dim = 16;
  c.model.attention_dim = 8;
  c.train.epochs = 40;
  c.train.bags_per_step = 4;
  c.train.optimizer.lr = 1e-2;
  c.train.optimizer.weight_decay = 0;
  c.train.early_stopping.patience = 0;
  c.cv.split = "groups";
  c.runtime.threads = 1;
  c.runtime.progress = "never";
  c.output.dir = out.string();
  return c;
}

}  // namespace

TEST(TextEncoder, MeanTokenPoolingAveragesTheNonPadEmbeddings) {
  TextEncoder enc(TextEncoderOptions(10).embedding_dim(4).token_pooling("mean"));
  set_embeddings(*enc);
  enc->eval();
  const torch::Tensor x = torch::tensor({2, 4, 0, 3, 0, 0}, torch::kLong).view({2, 3});
  const EncoderOutput out = enc->encode(x);
  // row 0: mean of (2,4,-2,1) and (4,8,-4,1) = (3,6,-3,1); row 1: (3,6,-3,1) alone
  EXPECT_TRUE(torch::allclose(out.H, torch::tensor({3.0f, 6.0f, -3.0f, 1.0f, 3.0f, 6.0f, -3.0f, 1.0f}).view({2, 4})));
  EXPECT_FALSE(out.inner_attention.defined());
  TextEncoder max_enc(TextEncoderOptions(10).embedding_dim(4).token_pooling("max"));
  set_embeddings(*max_enc);
  EXPECT_TRUE(torch::allclose(max_enc->forward(x),
                              torch::tensor({4.0f, 8.0f, -2.0f, 1.0f, 3.0f, 6.0f, -3.0f, 1.0f}).view({2, 4})));
}

TEST(TextEncoder, TokenModeEmbedsEachToken) {
  TextEncoder enc(TextEncoderOptions(10).embedding_dim(4));
  set_embeddings(*enc);
  enc->eval();
  const EncoderOutput out = enc->encode(torch::tensor({5, 1}, torch::kLong).view({2, 1}));
  EXPECT_TRUE(torch::allclose(out.H, torch::tensor({5.0f, 10.0f, -5.0f, 1.0f, 1.0f, 2.0f, -1.0f, 1.0f}).view({2, 4})));
  EXPECT_FALSE(out.inner_attention.defined());  // a token has no parts
}

TEST(TextEncoder, WordDropoutMakesTokensUnknownOnlyInTraining) {
  TextEncoder enc(TextEncoderOptions(10).embedding_dim(4).token_pooling("mean").word_dropout(0.5));
  set_embeddings(*enc);
  torch::manual_seed(2);
  const torch::Tensor x = torch::full({200, 1}, 7, torch::kLong);
  const torch::Tensor H = enc->forward(x);  // training mode: each row is E[7] or E[1] (<unk>)
  const torch::Tensor unk = H.select(1, 0).eq(1.0f), kept = H.select(1, 0).eq(7.0f);
  EXPECT_TRUE(torch::all(unk | kept).item<bool>());
  EXPECT_GT(unk.sum().item<int64_t>(), 70);  // ~100 of 200
  EXPECT_GT(kept.sum().item<int64_t>(), 70);
  enc->eval();
  EXPECT_TRUE(torch::all(enc->forward(x).select(1, 0).eq(7.0f)).item<bool>());
}

TEST(TextEncoder, RejectsBadInput) {
  TextEncoder enc(TextEncoderOptions(10).embedding_dim(4));
  EXPECT_EQ(error_of<std::invalid_argument>([&] {
              enc->forward(torch::zeros({2, 3}));
            }),
            "TextEncoder: want int64 token ids [N, T]");
  EXPECT_EQ(error_of<std::invalid_argument>([&] {
              enc->forward(torch::tensor({2, 3, 0, 0}, torch::kLong).view({2, 2}));
            }),
            "TextEncoder: a sentence row holds only <pad> ids");
  EXPECT_THROW(TextEncoder(TextEncoderOptions(1)), std::invalid_argument);
  ModelConfig m = text_model("mean", "mean");
  EXPECT_EQ(error_of<std::invalid_argument>([&] { MilModel(m, std::vector<int64_t>{5}); }),
            "model.encoder text needs token-id instances and a vocabulary (data.kind text_bags); encoders that fit "
            "these instances: mlp");
  m.encoder = "mlp";
  EXPECT_EQ(error_of<std::invalid_argument>([&] { MilModel(m, std::vector<int64_t>{5}, int64_t{10}); }),
            "model.encoder mlp cannot take token ids (data.kind text_bags needs model.encoder text)");
}

TEST(TextModel, TwoAttentionLevelsEachSumToOne) {
  torch::manual_seed(3);
  MilModel model(text_model("gated_attention", "gated_attention"), std::vector<int64_t>{4}, int64_t{12});
  model->eval();
  // bag 0: sentences {2 3 4}, {5}; bag 1: {6 7 8 9}, {10 11}, {1 0 ...}
  const torch::Tensor x =
      torch::tensor({2, 3, 4, 0, 5, 0, 0, 0, 6, 7, 8, 9, 10, 11, 0, 0, 1, 0, 0, 0}, torch::kLong).view({5, 4});
  const MilOutput out = model->forward(x, torch::tensor({0, 0, 1, 1, 1}, torch::kLong), 2);
  ASSERT_TRUE(out.attention.defined());
  ASSERT_TRUE(out.inner_attention.defined());
  EXPECT_EQ(out.bag_logits.sizes().vec(), (std::vector<int64_t>{2}));
  const std::vector<double> bags = bag_sums(out.attention, {0, 2, 5});
  EXPECT_NEAR(bags[0], 1.0, 1e-6);
  EXPECT_NEAR(bags[1], 1.0, 1e-6);
  EXPECT_EQ(out.inner_attention.sizes().vec(), (std::vector<int64_t>{5, 4}));
  EXPECT_TRUE(torch::allclose(out.inner_attention.sum(1), torch::ones({5})));
  EXPECT_TRUE(torch::equal(out.inner_attention.eq(0), x.eq(0)));   // zero exactly at <pad>
  EXPECT_FLOAT_EQ(out.inner_attention[1][0].item<float>(), 1.0f);  // a one-token sentence
  EXPECT_GT(out.inner_attention[0][0].item<float>(), 0.0f);

  // Mean pooling at both levels: no weights, and the bag embedding is the
  // mean of the sentence means.
  MilModel mean(text_model("mean", "mean"), std::vector<int64_t>{4}, int64_t{12});
  EXPECT_FALSE(mean->forward(x, torch::tensor({0, 0, 1, 1, 1}, torch::kLong), 2).inner_attention.defined());
}

TEST(TextModel, PredictKeepsSentencesApartAndAlignsTokenWeights) {
  // Two documents whose first sentences differ: predict() must not take
  // them for one instance (they share Bag::source_indices position 0).
  std::vector<TextDocument> docs(2);
  docs[0].name = "a";
  docs[0].label = 1;
  docs[0].sentences = {{"good", "film"}, {"the", "end"}};
  docs[1].name = "b";
  docs[1].sentences = {{"bad", "plot", "really"}, {"the", "end"}};
  const Vocabulary vocab = Vocabulary::build(docs, 1);
  const BagSplit split = encode_documents(docs, {0, 1}, vocab, {3, 0}, TextInstances::sentences, "test");
  torch::manual_seed(5);
  MilModel model(text_model("attention", "gated_attention"), std::vector<int64_t>{3}, vocab.size());
  const BagPredictions p = predict(model, split, 1000, torch::kCPU);
  for (int64_t b = 0; b < 2; ++b) {
    const BagBatch one = make_batch(split, {b});
    const MilOutput o = model->forward(one.instances, one.bag_index, 1);
    EXPECT_NEAR(p.probabilities[b], torch::sigmoid(o.bag_logits)[0].item<double>(), 1e-6) << b;
    EXPECT_TRUE(torch::allclose(p.inner_attention.slice(0, split.offsets[b], split.offsets[b + 1]), o.inner_attention))
        << b;
  }
  // The CSV has one row per real token, weights as computed.
  const std::string csv = token_attention_csv(split, p);
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "bag_id,instance_index,token_index,token_id,attention_weight");
  int rows = 0;
  while (std::getline(lines, line)) ++rows;
  EXPECT_EQ(rows, 2 + 2 + 3 + 2);
  EXPECT_NE(csv.find(fmt::format("1,0,2,{},{:.6g}\n", vocab.id("really"), p.inner_attention[2][2].item<double>())),
            std::string::npos)
      << csv;
  BagPredictions none;
  EXPECT_THROW(token_attention_csv(split, none), std::invalid_argument);
}

TEST(TextHtml, ShadesSentencesAndTokensAndEscapes) {
  TextDocument doc;
  doc.name = "pos/cv001_x.txt";
  doc.label = 1;
  doc.sentences = {{"a", "<b>", "great"}, {"dull", "&", "long", "cut"}};
  TextBagWeights w;
  w.instances = {0.8, 0.2};
  w.tokens = {{0.1, 0.1, 0.8}, {0.5, 0.25, 0.25}};  // sentence 2 keeps 3 tokens (T = 3)
  const std::string html = text_document_html(doc, {3, 0}, TextInstances::sentences, w, "review <1>");
  EXPECT_NE(html.find("<h1>review &lt;1&gt;</h1>"), std::string::npos);
  // Sentences above the uniform weight 1/S (S = 2): (0.8 * 2 - 1) / (2 - 1) = 0.6; below it none.
  EXPECT_NE(html.find("<td class=\"w\">0.800</td><td style=\"background:rgba(255,200,0,0.600)\">"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"w\">0.200</td><td style=\"background:rgba(255,200,0,0.000)\">"), std::string::npos);
  // Tokens above 1/T (T = 3) in their sentence, escaped, tooltip = weight: (0.8 * 3 - 1) / 2 = 0.7.
  EXPECT_NE(html.find("<span class=\"t\" style=\"background:rgba(230,40,40,0.000)\" title=\"0.1000\">&lt;b&gt;</span>"),
            std::string::npos);
  EXPECT_NE(html.find("style=\"background:rgba(230,40,40,0.700)\" title=\"0.8000\">great</span>"), std::string::npos);
  EXPECT_NE(html.find("style=\"background:rgba(230,40,40,0.250)\" title=\"0.5000\">dull</span>"), std::string::npos);
  EXPECT_NE(html.find("title=\"0.2500\">&amp;</span>"), std::string::npos);
  EXPECT_EQ(html.find("cut"), std::string::npos);  // cut off by T = 3
  EXPECT_NE(html.find("no colour at or below the uniform weight 1/2 (2 sentences shown)"), std::string::npos);
  EXPECT_NE(html.find("uniform weight 1/T (T tokens of the sentence shown)"), std::string::npos);

  // Tokens mode: one weight per kept token, above the uniform 1/6: (0.4 * 6 - 1) / 5 = 0.28.
  TextBagWeights t;
  t.instances = {0.1, 0.1, 0.4, 0.1, 0.1, 0.2};
  const std::string page = text_document_html(doc, {3, 0}, TextInstances::tokens, t, "tokens");
  EXPECT_NE(page.find("<p><span class=\"t\" style=\"background:rgba(230,40,40,0.000)\" title=\"0.1000\">a</span> "),
            std::string::npos);
  EXPECT_NE(page.find("style=\"background:rgba(230,40,40,0.280)\" title=\"0.4000\">great</span></p>"),
            std::string::npos);
  EXPECT_NE(page.find("style=\"background:rgba(230,40,40,0.040)\" title=\"0.2000\">long</span></p>"),
            std::string::npos);
  EXPECT_NE(page.find("uniform weight 1/6 (6 tokens shown)"), std::string::npos);
  // Instance probabilities (an instance-level pooling) are their own shade.
  t.probabilities = true;
  const std::string probabilities = text_document_html(doc, {3, 0}, TextInstances::tokens, t, "tokens");
  EXPECT_NE(probabilities.find("style=\"background:rgba(230,40,40,0.400)\" title=\"0.4000\">great</span></p>"),
            std::string::npos);
  EXPECT_NE(
      probabilities.find("Red: the token's instance probability in the review (bag level over tokens): no colour at 0, "
                         "full colour at 1; hover for the instance probability."),
      std::string::npos);

  TextBagWeights bad = w;
  bad.instances.pop_back();
  EXPECT_EQ(error_of<std::invalid_argument>([&] {
              text_document_html(doc, {3, 0}, TextInstances::sentences, bad, "");
            }),
            "text_document_html: 1 weights for the 2 instances of 'pos/cv001_x.txt'");
  bad = w;
  bad.tokens[1].pop_back();
  EXPECT_EQ(error_of<std::invalid_argument>([&] {
              text_document_html(doc, {3, 0}, TextInstances::sentences, bad, "");
            }),
            "text_document_html: 2 token weights for the 3 kept tokens of sentence 1 of 'pos/cv001_x.txt'");
}

// Shading above uniform, on one sentence of 10 tokens (T = 10) in a document
// of 4 sentences (S = 4): the uniform weight 1/T (1/S) gets no colour, one
// token (sentence) holding all the weight full colour, and 2/T on the 10-token
// sentence (2 * 10 - 1) / (10 - 1) = 1/9.
TEST(TextHtml, ShadesOnlyWeightsAboveUniform) {
  TextDocument doc;
  doc.name = "neg/cv002_y.txt";
  doc.sentences = {{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}, {"b"}, {"c"}, {"d"}};
  const TextLimits limits{10, 0};
  auto shades = [&](const TextBagWeights& w, const std::string& colour) {
    const std::string html = text_document_html(doc, limits, TextInstances::sentences, w, "");
    std::vector<std::string> out;
    const std::string key = "background:rgba(" + colour + ",";
    for (size_t at = html.find(key); at != std::string::npos; at = html.find(key, at + 1))
      out.push_back(html.substr(at + key.size(), 5));
    return out;
  };
  TextBagWeights uniform;
  uniform.instances = {0.25, 0.25, 0.25, 0.25};
  uniform.tokens = {std::vector<double>(10, 0.1), {1.0}, {1.0}, {1.0}};
  EXPECT_EQ(shades(uniform, "255,200,0"), std::vector<std::string>(4, "0.000"));
  // A one-token sentence (T = 1) gets no colour either, although its one token holds all the weight.
  EXPECT_EQ(shades(uniform, "230,40,40"), std::vector<std::string>(13, "0.000"));

  TextBagWeights dominant;
  dominant.instances = {1.0, 0.0, 0.0, 0.0};
  dominant.tokens = {{0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, {1.0}, {1.0}, {1.0}};
  EXPECT_EQ(shades(dominant, "255,200,0"), (std::vector<std::string>{"1.000", "0.000", "0.000", "0.000"}));
  std::vector<std::string> tokens(13, "0.000");
  tokens[3] = "1.000";
  EXPECT_EQ(shades(dominant, "230,40,40"), tokens);

  TextBagWeights twice;
  twice.tokens = {
      {0.2, 0.8 / 9, 0.8 / 9, 0.8 / 9, 0.8 / 9, 0.8 / 9, 0.8 / 9, 0.8 / 9, 0.8 / 9, 0.8 / 9}, {1.0}, {1.0}, {1.0}};
  tokens.assign(13, "0.000");
  tokens[0] = "0.111";  // (0.2 * 10 - 1) / 9
  EXPECT_EQ(shades(twice, "230,40,40"), tokens);
  EXPECT_EQ(shades(twice, "255,200,0"), std::vector<std::string>(4, "0.000"));  // no sentence weights: no colour
}

TEST(TextModel, LearnsTheDecidingWordAndPointsAtIt) {
  // 4 groups x 10 documents per label; the label is decided by one word in
  // one sentence. Cross-validated by group, the hierarchical gated-attention
  // model must classify the held-out groups and give that sentence, and
  // that word inside it, the largest weight.
  TempDir tmp("text_model");
  write_corpus(tmp.path / "corpus", 4, 10);
  Config cfg = corpus_config(tmp.path / "corpus", tmp.path / "cv");
  std::ostringstream log;
  const auto summary = run_cv(cfg, log);
  EXPECT_EQ(summary.at("accuracy").n, 4) << log.str();
  EXPECT_GE(summary.at("accuracy").mean, 0.95) << log.str();
  const fs::path run = tmp.path / "cv";
  EXPECT_TRUE(fs::is_regular_file(run / "vocabulary" / "r0_f3.txt"));
  EXPECT_NE(log.str().find("4 folds by group"), std::string::npos) << log.str();

  // The attention files of fold 0 (test group cv0): find each document's
  // key sentence and word by reading the corpus back.
  const TextCorpus corpus = read_text_documents(cfg.data);
  const CsvTable sentences = read_csv(run / "attention" / "r0_f0.csv");
  const CsvTable tokens = read_csv(run / "attention" / "r0_f0_tokens.csv");
  std::map<int64_t, std::vector<double>> sentence_w;
  for (size_t r = 0; r < sentences.rows.size(); ++r)
    sentence_w[sentences.integer(r, 0)].push_back(sentences.number(r, sentences.column("attention_weight")));
  std::map<std::pair<int64_t, int64_t>, std::vector<double>> token_w;
  for (size_t r = 0; r < tokens.rows.size(); ++r)
    token_w[{tokens.integer(r, 0), tokens.integer(r, 1)}].push_back(tokens.number(r, 4));
  ASSERT_EQ(sentence_w.size(), 20u);
  int sentence_hits = 0, token_hits = 0;
  for (const auto& [id, w] : sentence_w) {
    const TextDocument& doc = corpus.documents[id];
    EXPECT_EQ(doc.group, "cv0");
    int64_t key = -1, key_token = -1;
    for (size_t s = 0; s < doc.sentences.size(); ++s)
      for (size_t t = 0; t < doc.sentences[s].size(); ++t)
        if (doc.sentences[s][t] == "great" || doc.sentences[s][t] == "awful") {
          key = static_cast<int64_t>(s);
          key_token = static_cast<int64_t>(t);
        }
    ASSERT_GE(key, 0);
    sentence_hits += std::max_element(w.begin(), w.end()) - w.begin() == key;
    const std::vector<double>& tw = token_w.at({id, key});
    token_hits += std::max_element(tw.begin(), tw.end()) - tw.begin() == key_token;
    double sum = 0;
    for (double x : w) sum += x;
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  EXPECT_GE(sentence_hits, 18) << "of 20 documents";
  EXPECT_GE(token_hits, 18) << "of 20 documents";

  // visualize: one page per document (every group is tested once) and an index.
  std::ostringstream vlog;
  const auto pages = visualize_run(run, {}, vlog);
  EXPECT_EQ(pages.size(), 81u) << vlog.str();
  const std::string page = read_text(run / "visualize" / "pos_cv001_x.html");
  EXPECT_NE(page.find("<h1>pos/cv001_x.txt  label 1  P(positive) "), std::string::npos) << page.substr(0, 400);
  EXPECT_NE(page.find(">great</span>"), std::string::npos);
  EXPECT_NE(read_text(run / "visualize" / "index.html").find("<a href=\"pos_cv001_x.html\">pos/cv001_x.txt</a>"),
            std::string::npos);
}

TEST(TextModel, TrainSavesTheVocabularyAndPredictUsesIt) {
  TempDir tmp("text_train");
  write_corpus(tmp.path / "corpus", 3, 8);
  Config cfg = corpus_config(tmp.path / "corpus", tmp.path / "run");
  cfg.model.token_pooling = "mean";
  cfg.data.text_instances = "sentences";
  cfg.output.save_checkpoint = true;
  std::ostringstream log;
  const RunSummary s = run_train(cfg, log);
  EXPECT_GE(s.test.accuracy, 0.9) << log.str();
  const Vocabulary vocab = Vocabulary::from_text(read_text(s.run_dir / "vocabulary.txt"));
  EXPECT_EQ(vocab.id("great") > Vocabulary::kUnk, true);
  EXPECT_TRUE(fs::is_regular_file(s.run_dir / "attention" / "test.csv"));
  EXPECT_FALSE(fs::exists(s.run_dir / "attention" / "test_tokens.csv"));  // mean token pooling: no token weights

  // predict every document of the corpus with the saved vocabulary: each
  // test row of the run comes back as it was (bag ids are document positions)
  const fs::path out = run_predict(s.run_dir, cfg.data.path, {}, (tmp.path / "predicted").string(), log);
  const std::string predicted = read_text(out / "predictions" / "test.csv");
  const CsvTable all = read_csv(out / "predictions" / "test.csv", true);
  const CsvTable test = read_csv(s.run_dir / "predictions" / "test.csv", true);
  std::map<std::string, size_t> row_of;
  for (size_t r = 0; r < all.rows.size(); ++r) row_of[all.rows[r][0]] = r;
  EXPECT_EQ(all.rows.size(), 48u);  // every document, not only the run's test split
  ASSERT_GE(test.rows.size(), 3u);
  for (size_t r = 0; r < test.rows.size(); ++r) {
    const size_t p = row_of.at(test.rows[r][0]);
    EXPECT_EQ(all.rows[p][1], test.rows[r][1]);  // bag_name: the document's path
    EXPECT_EQ(all.rows[p][2], test.rows[r][2]);  // bag_label
    // pooled in other groups of bags, so equal up to float rounding
    EXPECT_NEAR(all.number(p, 3), test.number(r, 3), 1e-6 + 1e-4 * test.number(r, 3)) << test.rows[r][1];
  }
  EXPECT_NE(predicted.find(",pos/cv001_x.txt,1,"), std::string::npos) << predicted;
  fs::remove(s.run_dir / "vocabulary.txt");
  EXPECT_EQ(error_of<std::runtime_error>([&] { run_predict(s.run_dir, cfg.data.path, {}, "", log); }),
            (s.run_dir / "vocabulary.txt").string() + ": missing (a text_bags run saves its vocabulary there)");
}

TEST(TextModel, TokenModePoolsTheTokensOfADocument) {
  TempDir tmp("text_tokens");
  write_corpus(tmp.path / "reviews & <more>", 3, 8);  // a data path to escape in the index
  Config cfg = corpus_config(tmp.path / "reviews & <more>", tmp.path / "run");
  cfg.data.text_instances = "tokens";
  std::ostringstream log;
  const RunSummary s = run_train(cfg, log);
  EXPECT_GE(s.test.accuracy, 0.9) << log.str();
  // The bag-level weights are over tokens: the deciding word is the most attended in most test documents.
  const CsvTable t = read_csv(s.run_dir / "attention" / "test.csv");
  const Vocabulary vocab = Vocabulary::from_text(read_text(s.run_dir / "vocabulary.txt"));
  std::map<int64_t, std::pair<double, int64_t>> best;  // bag -> (weight, source = token id)
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const double w = t.number(r, t.column("attention_weight"));
    auto& b = best[t.integer(r, 0)];
    if (w > b.first) b = {w, t.integer(r, t.column("source_index"))};
  }
  int hits = 0;
  for (const auto& [id, b] : best) hits += b.second == vocab.id("great") || b.second == vocab.id("awful");
  EXPECT_GE(hits, static_cast<int>(best.size()) - 1) << "of " << best.size();
  std::ostringstream vlog;
  visualize_run(s.run_dir, {}, vlog);
  // The index names the run (its folder) and the data, escaped.
  const std::string index = read_text(s.run_dir / "visualize" / "index.html");
  const std::string run = s.run_dir.filename().string();
  ASSERT_FALSE(run.empty());
  EXPECT_NE(index.find("<title>" + run + ": test documents</title>"), std::string::npos) << index.substr(0, 600);
  EXPECT_NE(
      index.find("<h1>" + run + ": test documents of " + (tmp.path / "reviews &amp; &lt;more&gt;").string() + "</h1>"),
      std::string::npos)
      << index.substr(0, 600);
  EXPECT_NE(index.find("<tr><th>document</th><th>label</th><th>P(positive)</th><th></th></tr>"), std::string::npos);
  // Also for a run directory given as "dir/" (trailing separator).
  visualize_run(s.run_dir.string() + "/", {}, vlog);
  EXPECT_NE(read_text(s.run_dir / "visualize" / "index.html").find("<title>" + run + ": test documents</title>"),
            std::string::npos);
}
