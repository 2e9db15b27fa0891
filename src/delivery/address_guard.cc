#include "delivery/address_guard.h"

#include <cstring>

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
  if (a[0] == 169 && a[1] == 254) return "link_local";
  if (a[0] == 100 && (a[1] & 0xc0) == 64) return "cgnat";
  if (a[0] == 192 && a[1] == 0 && a[2] == 0) return "reserved";
  if (a[0] == 198 && (a[1] & 0xfe) == 18) return "reserved";
  if (a[0] >= 224) return a[0] < 240 ? "multicast" : "reserved";
  return {};
}

// The IPv4 address embedded in a transition form, if any.
const uint8_t* EmbeddedV4(const Ip& ip) {
  static const uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t kZero[12] = {0};
  if (IsMappedV4(ip) || std::memcmp(ip.data(), kNat64, 12) == 0) return &ip[12];
  if (std::memcmp(ip.data(), kZero, 12) == 0) return &ip[12];  // IPv4-compatible, ::, ::1
  if (ip[0] == 0x20 && ip[1] == 0x02) return &ip[2];           // 6to4
  return nullptr;
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
    bool compatible = !IsMappedV4(ip) && ip[0] == 0 && ip[1] == 0;
    if (compatible && v4[0] == 0 && v4[1] == 0 && v4[2] == 0 && v4[3] <= 1) {
      return v4[3] == 1 ? "loopback" : "unspecified";
    }
    return ClassifyV4(v4);
  }
  if ((ip[0] & 0xfe) == 0xfc) return "unique_local";
  if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) return "link_local";
  if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0xc0) return "site_local";
  if (ip[0] == 0xff) return "multicast";
  if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8) return "documentation";
  return {};
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
