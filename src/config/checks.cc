#include "config/checks.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <arpa/inet.h>

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

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

}  // namespace anchor_events::config
