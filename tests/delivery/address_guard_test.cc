#include "delivery/address_guard.h"

#include <cstring>

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace anchor_events::delivery {
namespace {

std::array<uint8_t, 16> Ip(const std::string& text) {
  std::array<uint8_t, 16> ip{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    ip[10] = 0xff;
    ip[11] = 0xff;
    std::memcpy(&ip[12], &v4, 4);
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), ip.data()), 1) << text;
  }
  return ip;
}

TEST(AddressGuardTest, BlocksEveryNonPublicClass) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1", "loopback"},
      {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "metadata"},
      {"169.254.1.1", "link_local"},
      {"100.64.0.1", "cgnat"},
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fe80::1", "link_local"},
      {"fc00::1", "unique_local"},
      {"fd12:3456::1", "unique_local"},
      {"ff02::1", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "metadata"},
      {"64:ff9b::7f00:1", "loopback"},
      {"64:ff9b::a00:1", "private"},
      {"2002:7f00:1::", "loopback"},
      {"2002:a9fe:a9fe::", "metadata"},
      {"2002:c0a8:0101::1", "private"},
      {"192.0.0.8", "reserved"},
      {"192.0.2.1", "documentation"},
      {"198.51.100.7", "documentation"},
      {"203.0.113.9", "documentation"},
      {"192.88.99.1", "reserved"},
      {"198.18.0.1", "reserved"},
      {"198.19.255.255", "reserved"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "broadcast"},
      {"239.255.255.250", "multicast"},
      {"100.127.255.254", "cgnat"},
      {"fd00:ec2::254", "metadata"},
      {"fec0::1", "site_local"},
      {"fdff:ffff::1", "unique_local"},
      {"::127.0.0.1", "loopback"},
      {"::10.0.0.1", "private"},
      {"::8.8.8.8", "ipv4_compatible"},
      {"::ffff:0:7f00:1", "loopback"},
      {"::ffff:0:a00:1", "private"},
      {"64:ff9b:1::a00:1", "nat64_local"},
      {"64:ff9b:1:ffff::808:808", "nat64_local"},
      {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"},
      {"100::1", "reserved"},
      {"2001:2::1", "reserved"},
      {"2001:db8::1", "documentation"},
      {"3fff::1", "documentation"},
      {"ff05::1:3", "multicast"},
  };
  AddressGuard guard(false, {});

  for (const auto& [address, expected] : cases) {
    EXPECT_EQ(guard.Check(Ip(address)), expected) << address;
  }
}

TEST(AddressGuardTest, AllowsPublicAddresses) {
  AddressGuard guard(false, {});

  for (const char* address :
       {"8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:1.1.1.1",
        "2002:0808:0808::", "64:ff9b::808:808", "2001:4860:4860::8888", "3ff0::1", "198.20.0.1",
        "192.0.1.1", "2001:1::1"}) {
    EXPECT_EQ(guard.Check(Ip(address)), "") << address;
  }
}

TEST(AddressGuardTest, AllowListAndDevelopmentSwitchLetPrivateAddressesThrough) {
  AddressGuard listed(false, {*ParseCidr("10.20.0.0/16"), *ParseCidr("fd00::/8")});
  AddressGuard open(true, {});

  EXPECT_EQ(listed.Check(Ip("10.20.3.4")), "");
  EXPECT_EQ(listed.Check(Ip("10.21.3.4")), "private");
  EXPECT_EQ(listed.Check(Ip("fd00::5")), "");
  EXPECT_EQ(open.Check(Ip("127.0.0.1")), "");
}

TEST(AddressGuardTest, RejectsMalformedCidrs) {
  EXPECT_FALSE(ParseCidr("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseCidr("10.0.0/8").ok());
  EXPECT_FALSE(ParseCidr("fd00::/129").ok());
  EXPECT_FALSE(ParseCidr("10.0.0.0/").ok());
  EXPECT_TRUE(ParseCidr("10.0.0.0/8").ok());
}

}  // namespace
}  // namespace anchor_events::delivery
