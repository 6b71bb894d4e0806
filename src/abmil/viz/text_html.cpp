#include "abmil/viz/text_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "abmil/viz/html.h"

namespace abmil {

namespace {

/// w / largest, 0 when the largest is not positive.
double share(double w, double largest) { return largest > 0 ? std::clamp(w / largest, 0.0, 1.0) : 0.0; }

double largest_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

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
  const double top = largest_of(a);
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
      const double token_top = tw ? largest_of(*tw) : 0.0;
      std::string line;
      for (int64_t t = 0; t < kept; ++t) {
        if (t > 0) line += ' ';
        line += tw ? token_span(sentence[t], share((*tw)[t], token_top), (*tw)[t]) : html_escape(sentence[t]);
      }
      const double w = a.empty() ? -1.0 : a[k];
      body += fmt::format("<tr><td class=\"w\">{}</td><td style=\"background:rgba(255,200,0,{:.3f})\">{}</td></tr>\n",
                          w >= 0 ? fmt::format("{:.3f}", w) : "", w >= 0 ? share(w, top) : 0.0, line);
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
      body += a.empty() ? html_escape(instances[k].text) : token_span(instances[k].text, share(a[k], top), a[k]);
    }
    if (current >= 0) body += "</p>\n";
  }
  const std::string legend =
      by_sentence ? "Yellow: the sentence's weight in the review (bag-level attention) relative to the review's "
                    "largest; the number is the weight itself. Red: the token's weight in its sentence (token-level "
                    "attention) relative to the sentence's largest; hover for the weight."
                  : "Red: the token's weight in the review (bag-level attention over tokens) relative to the "
                    "review's largest; hover for the weight.";
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title><style>{1}</style></head>\n"
      "<body><h1>{0}</h1><p class=\"legend\">{2}</p>\n{3}</body></html>\n",
      html_escape(heading), kStyle, legend, body);
}

}  // namespace abmil
