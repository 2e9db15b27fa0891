#include "config/checks.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <arpa/inet.h>
#include <openssl/sha.h>

#include "base/strkey.h"

namespace anchor_events::config {
namespace {

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool ValidPort(std::string_view text) {
  if (!AllDigits(text) || text.size() > 5) {
    return false;
  }
  int port = std::stoi(std::string(text));
  return port >= 1 && port <= 65535;
}

bool ValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '-'; });
}

// Parses an IP literal into `bytes`; returns its length in bytes (4 or 16), 0 when invalid.
size_t ParseIp(std::string_view text, std::array<uint8_t, 16>* bytes) {
  std::string copy(text);
  if (inet_pton(AF_INET, copy.c_str(), bytes->data()) == 1) {
    return 4;
  }
  if (inet_pton(AF_INET6, copy.c_str(), bytes->data()) == 1) {
    return 16;
  }
  return 0;
}

bool HostBitsClear(const std::array<uint8_t, 16>& bytes, size_t size, int prefix) {
  for (size_t bit = static_cast<size_t>(prefix); bit < size * 8; ++bit) {
    if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string StrkeyProblem(std::string_view text, uint8_t version) {
  return anchor_events::StrkeyProblem(text, static_cast<StrkeyVersion>(version));
}

std::string HostNameProblem(std::string_view host) {
  if (host.empty()) {
    return "host name is empty";
  }
  if (host.size() > 253) {
    return "host name is longer than 253 characters";
  }
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (!ValidLabel(label)) {
      return "'" + std::string(host) +
             "' is not a valid host name (labels of letters, digits and '-', 1 to 63 "
             "characters, separated by '.')";
    }
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return "";
}

std::string DomainProblem(std::string_view domain) {
  size_t colon = domain.rfind(':');
  if (colon == std::string_view::npos) {
    return HostNameProblem(domain);
  }
  if (!ValidPort(domain.substr(colon + 1))) {
    return "'" + std::string(domain) + "' has an invalid port";
  }
  return HostNameProblem(domain.substr(0, colon));
}

bool IsIpLiteral(std::string_view text) {
  std::array<uint8_t, 16> bytes{};
  return ParseIp(text, &bytes) != 0;
}

std::string CidrProblem(std::string_view text) {
  std::string quoted = "'" + std::string(text) + "'";
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return quoted + " is not a CIDR block such as 10.0.0.0/8 or fd00::/8";
  }
  std::array<uint8_t, 16> bytes{};
  size_t size = ParseIp(text.substr(0, slash), &bytes);
  if (size == 0) {
    return quoted + " does not start with an IPv4 or IPv6 address";
  }
  std::string_view prefix_text = text.substr(slash + 1);
  if (!AllDigits(prefix_text) || prefix_text.size() > 3 ||
      std::stoi(std::string(prefix_text)) > static_cast<int>(size * 8)) {
    return quoted + " has a prefix length outside 0.." + std::to_string(size * 8);
  }
  if (!HostBitsClear(bytes, size, std::stoi(std::string(prefix_text)))) {
    return quoted + " has address bits set after the prefix length";
  }
  return "";
}

std::string ResolveEntryProblem(std::string_view text) {
  std::string quoted = "'" + std::string(text) + "'";
  size_t first = text.find(':');
  size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    return quoted + " is not of the form host:port:address";
  }
  std::string_view host = text.substr(0, first);
  std::string_view port = text.substr(first + 1, second - first - 1);
  std::string_view address = text.substr(second + 1);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  if (std::string problem = HostNameProblem(host); !problem.empty()) {
    return quoted + ": " + problem;
  }
  if (!ValidPort(port)) {
    return quoted + " has an invalid port";
  }
  if (!IsIpLiteral(address)) {
    return quoted + " does not end with an IPv4 or IPv6 address";
  }
  return "";
}

std::string HeaderNameProblem(std::string_view name) {
  static constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  if (name.empty()) {
    return "header name is empty";
  }
  if (name.size() > kMaxHeaderNameBytes) {
    return "header name is longer than " + std::to_string(kMaxHeaderNameBytes) + " characters";
  }
  bool token = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 ||
           kTokenPunctuation.find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (!token) {
    return "'" + std::string(name) + "' is not a valid HTTP header name (RFC 7230 token)";
  }
  return "";
}

std::string KafkaNameProblem(std::string_view name, size_t max_length) {
  if (name.empty()) {
    return "is empty";
  }
  if (name.size() > max_length) {
    return "is longer than " + std::to_string(max_length) + " characters";
  }
  bool legal = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
  if (!legal) {
    return "'" + std::string(name) + "' may only contain A-Z, a-z, 0-9, '.', '_' and '-'";
  }
  return "";
}

std::string MaterialDigest(const std::map<std::string, std::string>& contents) {
  std::string input;
  for (const char* field : {"client_cert_file", "client_key_file", "webhook_secret_file",
                            "webhook_secret_previous_file"}) {
    if (auto it = contents.find(field); it != contents.end()) {
      input += std::string(field) + '\0' + it->second + '\0';
    }
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string HeaderValueProblem(std::string_view value) {
  if (std::any_of(value.begin(), value.end(),
                  [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; })) {
    return "contains CR, LF or another control character, which would split the HTTP header";
  }
  if (value.size() > kMaxHeaderValueBytes) {
    return "is longer than " + std::to_string(kMaxHeaderValueBytes) +
           " bytes, too long for an HTTP header";
  }
  return "";
}

std::string TrimWebhookSecret(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return "";
  }
  size_t last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::string WebhookSecretProblem(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  std::string_view encoded = secret.starts_with(kPrefix) ? secret.substr(kPrefix.size()) : secret;
  size_t padding = 0;
  while (padding < encoded.size() && encoded[encoded.size() - 1 - padding] == '=') {
    ++padding;
  }
  bool alphabet =
      std::all_of(encoded.begin(), encoded.end() - static_cast<ptrdiff_t>(padding),
                  [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '/'; });
  if (encoded.empty() || encoded.size() % 4 != 0 || padding > 2 || !alphabet) {
    return "is not a Standard Webhooks secret (whsec_ followed by standard base64)";
  }
  size_t bytes = encoded.size() / 4 * 3 - padding;
  if (bytes < 24 || bytes > 64) {
    return "must decode to 24 to 64 bytes, got " + std::to_string(bytes) +
           "; hint: generate one with `echo whsec_$(openssl rand -base64 32)`";
  }
  return "";
}

}  // namespace anchor_events::config
