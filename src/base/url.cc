#include "base/url.h"

#include <algorithm>
#include <cctype>

namespace anchor_events {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool HasForbiddenCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) {
    return c <= 0x20 || c == 0x7f || c == '\\' || c == '<' || c == '>' || c == '"';
  });
}

// The URL as it may appear in a message: user information and the query can carry secrets.
std::string Redacted(std::string_view text) {
  std::string out(text.substr(0, text.find_first_of("?#")));
  size_t start = out.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t at = out.find('@', start);
  if (at != std::string::npos && out.find('/', start) > at) {
    out.replace(start, at - start, "***");
  }
  if (out.size() > 200) {
    out = out.substr(0, 200) + "...";
  }
  return out;
}

Error UrlError(std::string_view text, std::string_view cause) {
  return Error{"invalid URL '" + Redacted(text) + "': " + std::string(cause)};
}

std::optional<int> ParsePort(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) {
    return std::nullopt;
  }
  int port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

bool ValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool IsDecimal(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

// A host whose last label is a number is an IPv4 address to URL parsers and resolvers, which
// also read decimal (2130706433), hexadecimal (0x7f000001), octal (0177.0.0.1) and short
// (127.1) spellings. Only the dotted-decimal form is accepted, so what the configuration says
// is what a reader sees.
bool IsNonStandardIpv4(std::string_view host) {
  const bool trailing_dot = !host.empty() && host.back() == '.';
  if (trailing_dot) {
    host.remove_suffix(1);
  }
  std::string_view last = host.substr(host.rfind('.') + 1);
  bool hex = last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
             std::all_of(last.begin() + 2, last.end(),
                         [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (!hex && !IsDecimal(last)) {
    return false;
  }
  if (trailing_dot) {
    return true;
  }
  int parts = 0;
  for (size_t start = 0; start <= host.size(); ++parts) {
    size_t dot = std::min(host.find('.', start), host.size());
    std::string_view part = host.substr(start, dot - start);
    bool canonical = IsDecimal(part) && part.size() <= 3 && (part.size() == 1 || part[0] != '0') &&
                     std::stoi(std::string(part)) <= 255;
    if (!canonical) {
      return true;
    }
    start = dot + 1;
  }
  return parts != 4;
}

// Splits "host[:port]" (IPv6 literals in brackets) into url->host and url->port.
Status ParseAuthority(std::string_view text, std::string_view authority, Url* url) {
  if (authority.find('@') != std::string_view::npos) {
    return UrlError(text, "user information is not allowed");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return UrlError(text, "unterminated IPv6 literal");
    }
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return UrlError(text, "unexpected text after IPv6 literal");
      }
      port = rest.substr(1);
      if (port.empty()) {
        return UrlError(text, "empty port");
      }
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) {
      return UrlError(text, "empty port");
    }
  }
  bool bracketed = !host.empty() && host.front() == '[';
  if (bracketed ? host.size() < 3 : !ValidHostName(host)) {
    return UrlError(text, host.empty() ? "empty host" : "invalid host");
  }
  if (!bracketed && IsNonStandardIpv4(host)) {
    return UrlError(text,
                    "host is a non-standard spelling of an IPv4 address; hint: write it as four "
                    "decimal numbers (a.b.c.d), or use a host name");
  }
  url->host = Lower(host);
  if (!port.empty()) {
    url->port = ParsePort(port);
    if (!url->port) {
      return UrlError(text, "port must be a number from 1 to 65535");
    }
  }
  return {};
}

}  // namespace

std::string Url::SignatureHost() const {
  if (!authority.empty()) {
    return authority;
  }
  return port ? host + ":" + std::to_string(*port) : host;
}

int Url::EffectivePort() const {
  if (port) {
    return *port;
  }
  return scheme == "https" ? 443 : 80;
}

std::string Url::ToString() const {
  std::string out = scheme + "://" + (port ? host + ":" + std::to_string(*port) : host) + path;
  if (!query.empty()) {
    out += "?" + query;
  }
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  if (HasForbiddenCharacter(text)) {
    return UrlError(text, "contains whitespace, control characters or CR/LF");
  }
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return UrlError(text, "must be an absolute http:// or https:// URL");
  }
  Url url;
  url.scheme = Lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    return UrlError(text, "scheme must be http or https");
  }
  if (text.find('#') != std::string_view::npos) {
    return UrlError(text, "fragments are not allowed");
  }
  std::string_view rest = text.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  if (Status status = ParseAuthority(text, authority, &url); !status.ok()) {
    return status.error();
  }
  url.authority = std::string(authority);
  std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  size_t query_start = tail.find('?');
  url.path = std::string(tail.substr(0, query_start));
  if (url.path.empty()) {
    url.path = "/";
  }
  if (query_start != std::string_view::npos) {
    url.query = std::string(tail.substr(query_start + 1));
  }
  return url;
}

Url AppendPathSegment(const Url& base, std::string_view segment) {
  Url out = base;
  if (out.path.empty() || out.path.back() != '/') {
    out.path += '/';
  }
  out.path += segment;
  return out;
}

}  // namespace anchor_events
