#include "config/checks.h"

#include <gtest/gtest.h>

namespace anchor_events::config {
namespace {

constexpr char kSeed[] = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
constexpr char kAccount[] = "GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR";

TEST(StrkeyCheckTest, AcceptsTheRfc8032TestKeys) {
  EXPECT_EQ(StrkeyProblem(kSeed, kSeedVersion), "");
  EXPECT_EQ(StrkeyProblem(kAccount, kAccountIdVersion), "");
  EXPECT_EQ(
      StrkeyProblem("GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX", kAccountIdVersion),
      "");
}

TEST(StrkeyCheckTest, RejectsTheBadSeedsOfTheSigningVectors) {
  EXPECT_EQ(StrkeyProblem("SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNA", kSeedVersion),
            "checksum mismatch");
  EXPECT_EQ(StrkeyProblem(kAccount, kSeedVersion), "must be a secret seed (S...)");
  EXPECT_EQ(StrkeyProblem("SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQ", kSeedVersion),
            "expected 56 characters, got 54");
  EXPECT_EQ(StrkeyProblem("scowdmm5576vuyf2qrfpjexmftceisofnf5te2izoa52yay4vz7wbqno", kSeedVersion),
            "lower-case characters are not allowed");
  EXPECT_EQ(StrkeyProblem("", kSeedVersion), "is empty");
}

TEST(StrkeyCheckTest, RejectsASeedWhereAnAccountIsNeeded) {
  EXPECT_EQ(StrkeyProblem(kSeed, kAccountIdVersion), "must be a public account key (G...)");
}

TEST(StrkeyCheckTest, CauseNeverEchoesTheKey) {
  std::string cause =
      StrkeyProblem("SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNA", kSeedVersion);

  EXPECT_EQ(cause.find("SCOWDMM"), std::string::npos);
}

TEST(HostNameCheckTest, AcceptsNamesAndRejectsMalformedOnes) {
  EXPECT_EQ(HostNameProblem("wallet-a.example"), "");
  EXPECT_EQ(HostNameProblem("localhost"), "");
  EXPECT_NE(HostNameProblem(""), "");
  EXPECT_NE(HostNameProblem("-wallet.example"), "");
  EXPECT_NE(HostNameProblem("wallet..example"), "");
  EXPECT_NE(HostNameProblem("wallet.example."), "");
  EXPECT_NE(HostNameProblem("wallet_a.example"), "");
  EXPECT_NE(HostNameProblem("https://wallet.example"), "");
  EXPECT_NE(HostNameProblem(std::string(64, 'a') + ".example"), "");
}

TEST(HostNameCheckTest, DomainMayCarryAPort) {
  EXPECT_EQ(DomainProblem("wallet.example:8000"), "");
  EXPECT_NE(DomainProblem("wallet.example:0"), "");
  EXPECT_NE(DomainProblem("wallet.example:x"), "");
}

TEST(CidrCheckTest, AcceptsIpv4AndIpv6Blocks) {
  EXPECT_EQ(CidrProblem("10.0.0.0/8"), "");
  EXPECT_EQ(CidrProblem("192.168.1.7/32"), "");
  EXPECT_EQ(CidrProblem("fd00::/8"), "");
  EXPECT_EQ(CidrProblem("0.0.0.0/0"), "");
}

TEST(CidrCheckTest, RejectsMalformedBlocks) {
  EXPECT_NE(CidrProblem("10.0.0.0"), "");
  EXPECT_NE(CidrProblem("10.0.0.0/33"), "");
  EXPECT_NE(CidrProblem("10.0.0/8"), "");
  EXPECT_NE(CidrProblem("10.1.0.0/8"), "");
  EXPECT_NE(CidrProblem("fd00::/129"), "");
  EXPECT_NE(CidrProblem("wallet.example/8"), "");
  EXPECT_NE(CidrProblem("10.0.0.0/-1"), "");
}

TEST(HeaderNameCheckTest, AcceptsTokensOnly) {
  EXPECT_EQ(HeaderNameProblem("X-Api-Key"), "");
  EXPECT_EQ(HeaderNameProblem("Authorization"), "");
  EXPECT_NE(HeaderNameProblem(""), "");
  EXPECT_NE(HeaderNameProblem("X Api Key"), "");
  EXPECT_NE(HeaderNameProblem("X-Api-Key:"), "");
  EXPECT_NE(HeaderNameProblem("X-Api-Key\r\nEvil: 1"), "");
}

TEST(ResolveEntryCheckTest, NeedsHostPortAndAddress) {
  EXPECT_EQ(ResolveEntryProblem("wallet-a.example:18081:127.0.0.1"), "");
  EXPECT_EQ(ResolveEntryProblem("wallet-a.example:443:[::1]"), "");
  EXPECT_EQ(ResolveEntryProblem("wallet-a.example:443:::1"), "");
  EXPECT_NE(ResolveEntryProblem("wallet-a.example:127.0.0.1"), "");
  EXPECT_NE(ResolveEntryProblem("wallet-a.example:0:127.0.0.1"), "");
  EXPECT_NE(ResolveEntryProblem("wallet-a.example:80:wallet-b.example"), "");
}

TEST(KafkaNameCheckTest, AllowsGroupIdCharactersOnly) {
  EXPECT_EQ(KafkaNameProblem("wallet-a_1.x", 100), "");
  EXPECT_NE(KafkaNameProblem("wallet a", 100), "");
  EXPECT_NE(KafkaNameProblem("wallet/a", 100), "");
  EXPECT_NE(KafkaNameProblem("", 100), "");
  EXPECT_NE(KafkaNameProblem(std::string(101, 'a'), 100), "");
}

}  // namespace
}  // namespace anchor_events::config
