// Parsing of http(s) URLs as written in configuration, and the derived callback URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace anchor_events {

// An absolute http or https URL split into its parts. Only what configuration needs: no
// userinfo (rejected), no fragment (rejected), host kept as written (lower-cased).
struct Url {
  std::string scheme;       // "http" or "https"
  std::string host;         // as written, lower-cased; IPv6 literals keep their brackets
  std::optional<int> port;  // only when the URL writes one
  std::string path;         // starts with '/', "/" when absent
  std::string query;        // without '?', empty when absent
  std::string authority;    // "host[:port]" exactly as written, for the Signature header

  // The host for the Signature header (§5): the host as written, plus ":port" only if the URL
  // writes one (case and digits kept, so a wallet that signs what it configured agrees).
  std::string SignatureHost() const;
  // The port to connect to: the written one or the scheme's default.
  int EffectivePort() const;
  std::string ToString() const;
};

// Parses an absolute http/https URL. Errors name the cause (bad scheme, userinfo, CR/LF,
// empty host, bad port, fragment, spaces).
Result<Url> ParseUrl(std::string_view text);

// The business server's event URL (§4.1): "event" appended to base_url's path, with no
// doubled slash; the query string is kept.
Url AppendPathSegment(const Url& base, std::string_view segment);

}  // namespace anchor_events
