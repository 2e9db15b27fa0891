#include "delivery/address_guard.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace anchor_events::delivery {
namespace {

using Ip = std::array<uint8_t, 16>;

Ip MappedV4(const uint8_t v4[4]) {
  Ip ip{};
  ip[10] = 0xff;
  ip[11] = 0xff;
  std::memcpy(&ip[12], v4, 4);
  return ip;
}

bool IsMappedV4(const Ip& ip) {
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.data(), kPrefix, 12) == 0;
}

std::string_view ClassifyV4(const uint8_t a[4]) {
  if (a[0] == 0) return "unspecified";
  if (a[0] == 127) return "loopback";
  if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168)) {
    return "private";
  }
  if (a[0] == 169 && a[1] == 254) {
    return a[2] == 169 && a[3] == 254 ? "metadata" : "link_local";
  }
  if (a[0] == 100 && (a[1] & 0xc0) == 64) return "cgnat";
  if ((a[0] == 192 && a[1] == 0 && a[2] == 2) || (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
      (a[0] == 203 && a[1] == 0 && a[2] == 113)) {
    return "documentation";
  }
  // 192.0.0.0/24 protocol assignments, 192.88.99.0/24 the retired 6to4 relays, 198.18.0.0/15
  // benchmarking.
  if (a[0] == 192 && ((a[1] == 0 && a[2] == 0) || (a[1] == 88 && a[2] == 99))) return "reserved";
  if (a[0] == 198 && (a[1] & 0xfe) == 18) return "reserved";
  if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return "broadcast";
  if (a[0] >= 224) return a[0] < 240 ? "multicast" : "reserved";
  return {};
}

bool StartsWith(const Ip& ip, std::initializer_list<uint8_t> prefix) {
  return std::equal(prefix.begin(), prefix.end(), ip.begin());
}

// The IPv4 address embedded in a transition form, if any.
const uint8_t* EmbeddedV4(const Ip& ip) {
  static const uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t kTranslated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
  if (IsMappedV4(ip) || std::memcmp(ip.data(), kNat64, 12) == 0 ||
      std::memcmp(ip.data(), kTranslated, 12) == 0) {
    return &ip[12];
  }
  if (ip[0] == 0x20 && ip[1] == 0x02) return &ip[2];  // 6to4
  return nullptr;
}

// IPv6 ranges that are never a webhook receiver, whatever they carry.
std::string_view ClassifyV6(const Ip& ip) {
  if (StartsWith(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) {
    // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d, which some stacks still tunnel.
    if (StartsWith(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) {
      if (ip[15] <= 1) return ip[15] == 1 ? "loopback" : "unspecified";
    }
    std::string_view embedded = ClassifyV4(&ip[12]);
    return embedded.empty() ? "ipv4_compatible" : embedded;
  }
  // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the local prefix length.
  if (StartsWith(ip, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01})) return "nat64_local";
  // Teredo hides the client's IPv4 address (XOR-ed) in the last 32 bits; never a server.
  if (StartsWith(ip, {0x20, 0x01, 0x00, 0x00})) return "teredo";
  if (StartsWith(ip, {0x01, 0x00, 0, 0, 0, 0, 0, 0})) return "reserved";        // discard-only
  if (StartsWith(ip, {0x20, 0x01, 0x00, 0x02, 0x00, 0x00})) return "reserved";  // benchmarking
  if (StartsWith(ip, {0x20, 0x01, 0x0d, 0xb8}) ||
      (ip[0] == 0x3f && ip[1] == 0xff && (ip[2] & 0xf0) == 0)) {
    return "documentation";
  }
  if (StartsWith(ip, {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54})) {
    return "metadata";  // the EC2 instance metadata service's IPv6 address
  }
  if ((ip[0] & 0xfe) == 0xfc) return "unique_local";
  if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) return "link_local";
  if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0xc0) return "site_local";
  if (ip[0] == 0xff) return "multicast";
  return {};
}

}  // namespace

bool Cidr::Contains(const Ip& ip) const {
  int full = prefix_length / 8;
  if (std::memcmp(ip.data(), address.data(), static_cast<size_t>(full)) != 0) {
    return false;
  }
  int rest = prefix_length % 8;
  if (rest == 0) {
    return true;
  }
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip[static_cast<size_t>(full)] & mask) == (address[static_cast<size_t>(full)] & mask);
}

Result<Cidr> ParseCidr(std::string_view text) {
  std::string s(text);
  size_t slash = s.find('/');
  std::string host = s.substr(0, slash);
  Cidr cidr;
  int max_prefix = 128;
  uint8_t v4[4];
  if (inet_pton(AF_INET, host.c_str(), v4) == 1) {
    cidr.address = MappedV4(v4);
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), cidr.address.data()) != 1) {
    return Error{"invalid CIDR '" + s + "': not an IP address"};
  }
  int prefix = max_prefix;
  if (slash != std::string::npos) {
    std::string digits = s.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) > max_prefix) {
      return Error{"invalid CIDR '" + s + "': prefix length must be 0 to " +
                   std::to_string(max_prefix)};
    }
    prefix = std::stoi(digits);
  }
  cidr.prefix_length = max_prefix == 32 ? prefix + 96 : prefix;
  return cidr;
}

std::string_view BlockedClass(const Ip& ip) {
  if (const uint8_t* v4 = EmbeddedV4(ip)) {
    return ClassifyV4(v4);
  }
  return ClassifyV6(ip);
}

std::string_view AddressGuard::Check(const Ip& ip) const {
  if (allow_private_) {
    return {};
  }
  std::string_view blocked = BlockedClass(ip);
  if (blocked.empty()) {
    return {};
  }
  for (const Cidr& cidr : allowed_) {
    if (cidr.Contains(ip)) {
      return {};
    }
  }
  return blocked;
}

std::string_view AddressGuard::Check(const sockaddr* address) const {
  Ip ip{};
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    uint8_t bytes[4];
    std::memcpy(bytes, &v4->sin_addr, 4);
    ip = MappedV4(bytes);
  } else if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::memcpy(ip.data(), &v6->sin6_addr, 16);
  } else {
    return "unsupported_family";
  }
  return Check(ip);
}

}  // namespace anchor_events::delivery
