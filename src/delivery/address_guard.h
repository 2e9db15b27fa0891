// The SSRF guard (SPEC §8): decides whether an address the sender is about to connect to is
// allowed. Applied to the resolved address at connect time, so DNS rebinding cannot bypass it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include "base/result.h"

namespace anchor_events::delivery {

// An IPv4 or IPv6 network; IPv4 is stored as its IPv4-mapped IPv6 form (::ffff:a.b.c.d).
struct Cidr {
  std::array<uint8_t, 16> address{};
  int prefix_length = 0;

  bool Contains(const std::array<uint8_t, 16>& ip) const;
};

Result<Cidr> ParseCidr(std::string_view text);

// Immutable after construction; safe to share across threads.
class AddressGuard {
 public:
  // `allow_private` turns the guard off (development and tests); `allowed` are exceptions.
  AddressGuard(bool allow_private, std::vector<Cidr> allowed)
      : allow_private_(allow_private), allowed_(std::move(allowed)) {}

  // Empty when allowed, else the blocked class ("loopback", "private", ...).
  std::string_view Check(const sockaddr* address) const;
  std::string_view Check(const std::array<uint8_t, 16>& ip) const;

 private:
  bool allow_private_;
  std::vector<Cidr> allowed_;
};

// The class of a blocked address ("loopback", "private", "metadata", ...), or empty for a
// public unicast address. IPv4-mapped (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96),
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) forms are judged by the IPv4 address they carry;
// IPv4-compatible (::/96), local-use NAT64 (64:ff9b:1::/48) and Teredo (2001::/32) addresses
// are always blocked.
std::string_view BlockedClass(const std::array<uint8_t, 16>& ip);

}  // namespace anchor_events::delivery
