#include "abmil/viz/text_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "abmil/viz/html.h"

namespace abmil {

namespace {

/// Shade in [0, 1] of attention weight `w`, one of `n` weights summing to 1:
/// 0 at or below the uniform weight 1/n, 1 when it holds all the weight, linear
/// in between: (w n - 1) / (n - 1). Always 0 for n <= 1.
double shade_above_uniform(double w, size_t n) {
  if (n <= 1) return 0.0;
  const double nd = static_cast<double>(n);
  return std::clamp((w * nd - 1.0) / (nd - 1.0), 0.0, 1.0);
}

/// Shade of instance `k` of `a` (bag level): its probability itself for
/// instance probabilities, else shade_above_uniform over the instances.
double instance_shade(const std::vector<double>& a, size_t k, bool probabilities) {
  return probabilities ? std::clamp(a[k], 0.0, 1.0) : shade_above_uniform(a[k], a.size());
}

/// A token span shaded red by `alpha` in [0, 1], `weight` as its tooltip (none when < 0).
std::string token_span(const std::string& token, double alpha, double weight) {
  std::string title = weight >= 0 ? fmt::format(" title=\"{:.4f}\"", weight) : "";
  return fmt::format("<span class=\"t\" style=\"background:rgba(230,40,40,{:.3f})\"{}>{}</span>", alpha, title,
                     html_escape(token));
}

const char* const kStyle =
    "body{font-family:sans-serif;max-width:60em;margin:1em auto;line-height:1.6}"
    "h1{font-size:1.1em}.legend{color:#555;font-size:.9em}"
    "table{border-collapse:collapse}td{padding:2px 6px;vertical-align:top}"
    "td.w{color:#666;font-size:.8em;text-align:right;white-space:nowrap}"
    ".t{padding:0 1px;border-radius:2px}";

}  // namespace

std::string text_document_html(const TextDocument& doc, const TextLimits& limits, TextInstances mode,
                               const TextBagWeights& weights, const std::string& heading) {
  const std::vector<TextInstance> instances = text_instances(doc, limits, mode);
  const std::vector<double>& a = weights.instances;
  if (!a.empty() && a.size() != instances.size())
    throw std::invalid_argument(fmt::format("text_document_html: {} weights for the {} instances of '{}'", a.size(),
                                            instances.size(), doc.name));
  const bool by_sentence = mode == TextInstances::sentences;
  if (!weights.tokens.empty() && (!by_sentence || weights.tokens.size() != instances.size()))
    throw std::invalid_argument(fmt::format("text_document_html: token weights of '{}' do not match its {} sentences",
                                            doc.name, instances.size()));
  std::string body;
  if (by_sentence) {
    body += "<table>\n";
    for (size_t k = 0; k < instances.size(); ++k) {
      const std::vector<std::string>& sentence = doc.sentences[instances[k].sentence];
      const int64_t kept = kept_tokens(sentence, limits);
      const std::vector<double>* tw = weights.tokens.empty() ? nullptr : &weights.tokens[k];
      if (tw && static_cast<int64_t>(tw->size()) != kept)
        throw std::invalid_argument(
            fmt::format("text_document_html: {} token weights for the {} kept tokens of "
                        "sentence {} of '{}'",
                        tw->size(), kept, instances[k].sentence, doc.name));
      std::string line;
      for (int64_t t = 0; t < kept; ++t) {
        if (t > 0) line += ' ';
        line += tw ? token_span(sentence[t], shade_above_uniform((*tw)[t], tw->size()), (*tw)[t])
                   : html_escape(sentence[t]);
      }
      const double w = a.empty() ? -1.0 : a[k];
      body += fmt::format("<tr><td class=\"w\">{}</td><td style=\"background:rgba(255,200,0,{:.3f})\">{}</td></tr>\n",
                          w >= 0 ? fmt::format("{:.3f}", w) : "",
                          w >= 0 ? instance_shade(a, k, weights.probabilities) : 0.0, line);
    }
    body += "</table>\n";
  } else {
    int64_t current = -1;
    for (size_t k = 0; k < instances.size(); ++k) {
      if (instances[k].sentence != current) {
        if (current >= 0) body += "</p>\n";
        body += "<p>";
        current = instances[k].sentence;
      } else {
        body += ' ';
      }
      body += a.empty() ? html_escape(instances[k].text)
                        : token_span(instances[k].text, instance_shade(a, k, weights.probabilities), a[k]);
    }
    if (current >= 0) body += "</p>\n";
  }
  // What the shades mean; only the shades the page has.
  const std::string what = weights.probabilities ? "instance probability" : "attention weight";
  const std::string rule =
      weights.probabilities
          ? std::string("no colour at 0, full colour at 1")
          : fmt::format(
                "no colour at or below the uniform weight 1/{0} ({0} {1} shown), full colour when it holds "
                "all the weight, (w&middot;{0} &minus; 1) / ({0} &minus; 1) between",
                instances.size(), by_sentence ? "sentences" : "tokens");
  std::string legend;
  if (!by_sentence && !a.empty())
    legend =
        fmt::format("Red: the token's {0} in the review (bag level over tokens): {1}; hover for the {0}.", what, rule);
  if (by_sentence && !a.empty())
    legend =
        fmt::format("Yellow: the sentence's {0} in the review (bag level): {1}; the number is the {0}. ", what, rule);
  if (!weights.tokens.empty())
    legend +=
        "Red: the token's attention weight in its sentence (token level): no colour at or below the uniform weight "
        "1/T (T tokens of the sentence shown), full colour when it holds all the weight, (w&middot;T &minus; 1) / "
        "(T &minus; 1) between; hover for the weight.";
  if (legend.empty()) legend = "No weights: the model has neither attention weights nor instance probabilities.";
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title><style>{1}</style></head>\n"
      "<body><h1>{0}</h1><p class=\"legend\">{2}</p>\n{3}</body></html>\n",
      html_escape(heading), kStyle, legend, body);
}

}  // namespace abmil
