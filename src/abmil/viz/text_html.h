// HTML pages of text bags with their attention weights: a review with its
// sentences shaded by the bag-level weights and, inside each sentence, its
// tokens shaded by the token-level weights (the two attention levels of
// model.encoder text). No LibTorch here.
#pragma once

#include <string>
#include <vector>

#include "abmil/data/text.h"

namespace abmil {

/// The weights of one text bag, in bag order.
struct TextBagWeights {
  /// Bag-level weight of each instance (a sentence, or a token in tokens
  /// mode): attention weight a_k, or the instance probability of an
  /// instance-level pooling; empty when the model has neither.
  std::vector<double> instances;
  /// `instances` are instance probabilities (an instance-level pooling), not
  /// attention weights summing to 1.
  bool probabilities = false;
  /// Sentences mode with an attention token pooling: per instance, the
  /// weight of each of its kept tokens (sum 1 per sentence); else empty.
  std::vector<std::vector<double>> tokens;
};

/// A self-contained HTML page of `doc` (its kept instances only, as
/// text_instances(doc, limits, mode) lists them; `weights` in that order):
/// - sentences: one row per sentence, shaded yellow by its weight, its
///   weight printed beside it; inside it every token shaded red by its
///   weight in the sentence (the weight as a tooltip);
/// - tokens: the sentences as lines, every kept token shaded red by its
///   weight.
/// An attention weight w, one of n summing to 1 (n: instances of the
/// document, or kept tokens of the sentence), is shaded above uniform:
/// intensity clamp((w n - 1) / (n - 1), 0, 1), so the uniform weight 1/n and
/// any below it get no colour, a weight of 1 full colour, and n = 1 none. An
/// instance probability (weights.probabilities) is its own intensity.
/// `heading` (plain text, escaped with html.h's html_escape) goes on top, with a legend saying what the shades mean.
/// Throws std::invalid_argument when weights.instances is neither empty nor
/// one per instance, or weights.tokens is neither empty nor one list per
/// sentence instance with one weight per kept token.
std::string text_document_html(const TextDocument& doc, const TextLimits& limits, TextInstances mode,
                               const TextBagWeights& weights, const std::string& heading);

}  // namespace abmil
