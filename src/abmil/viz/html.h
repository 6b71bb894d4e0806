// Small HTML text helpers shared by the report, the text-bag pages and the
// visualize index: escaping, base64 for data: URIs, and how a metric is
// printed. No LibTorch here.
#pragma once

#include <string>
#include <string_view>

namespace abmil {

/// Standard base64 (RFC 4648, alphabet A-Z a-z 0-9 + /, '=' padding) of the bytes `bytes`,
/// e.g. "Man" -> "TWFu", "M" -> "TQ==". Never throws (but std::bad_alloc).
std::string base64_encode(std::string_view bytes);

/// `text` with & < > " ' replaced by HTML character references (&amp; &lt; &gt; &quot; &#39;),
/// safe in element content and in quoted attribute values. Every other byte is kept as is.
std::string html_escape(std::string_view text);

/// A metric value as the report prints it: fixed with 4 decimals ("0.9617"), or "n/a" for NaN.
std::string format_metric(double value);

}  // namespace abmil
