#include "base/strkey.h"

#include <gtest/gtest.h>

#include "signing/signing_vectors.h"

namespace anchor_events {
namespace {

using signing::testing::BytesToHex;
using signing::testing::KeyField;

std::string KeyHex(const Key32& key) {
  return BytesToHex(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

TEST(StrkeyTest, DecodesVectorSeedsToTheirRawBytes) {
  for (const char* name : {"rfc8032-test1", "rfc8032-test2"}) {
    Result<Key32> key = DecodeStrkey(KeyField(name, "seed"), StrkeyVersion::kSeed);

    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(KeyHex(*key), KeyField(name, "seed_hex")) << name;
  }
}

TEST(StrkeyTest, EncodeRoundTripsSeedsAndAccounts) {
  for (const char* name : {"rfc8032-test1", "rfc8032-test2"}) {
    const std::string seed = KeyField(name, "seed");
    const std::string account = KeyField(name, "account");

    Result<Key32> seed_key = DecodeStrkey(seed, StrkeyVersion::kSeed);
    Result<Key32> account_key = DecodeStrkey(account, StrkeyVersion::kAccountId);

    ASSERT_TRUE(seed_key.ok()) << seed_key.error().message;
    ASSERT_TRUE(account_key.ok()) << account_key.error().message;
    EXPECT_EQ(EncodeStrkey(*seed_key, StrkeyVersion::kSeed), seed);
    EXPECT_EQ(EncodeStrkey(*account_key, StrkeyVersion::kAccountId), account);
  }
}

TEST(StrkeyTest, EncodesAllZeroAccount) {
  // The well-known all-zero ed25519 account id on Stellar.
  EXPECT_EQ(EncodeStrkey(Key32{}, StrkeyVersion::kAccountId),
            "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF");
}

TEST(StrkeyTest, ErrorsNameTheCauseWithoutEchoingTheKey) {
  const std::string seed = KeyField("rfc8032-test1", "seed");
  std::string bad_checksum = seed;
  bad_checksum.back() = bad_checksum.back() == 'A' ? 'B' : 'A';
  std::string bad_character = seed;
  bad_character[10] = '1';
  std::string lower_case = seed;
  lower_case[20] = 'q';
  struct Case {
    std::string text;
    std::string cause;
  };
  const Case cases[] = {
      {seed.substr(0, 55), "expected 56 characters, got 55"},
      {seed + "A", "expected 56 characters, got 57"},
      {bad_checksum, "checksum mismatch"},
      {bad_character, "character 11 is outside the base32 alphabet"},
      {lower_case, "lower-case characters are not allowed"},
      {KeyField("rfc8032-test1", "account"), "must be a secret seed (S...)"},
  };

  for (const Case& c : cases) {
    Result<Key32> key = DecodeStrkey(c.text, StrkeyVersion::kSeed);

    ASSERT_FALSE(key.ok()) << c.cause;
    EXPECT_EQ(key.error().message, "strkey decode failed for seed: " + c.cause);
    EXPECT_EQ(key.error().message.find(seed.substr(1, 8)), std::string::npos);
  }
}

TEST(StrkeyTest, RejectsSeedWhereAccountIsExpected) {
  Result<Key32> key = DecodeStrkey(KeyField("rfc8032-test1", "seed"), StrkeyVersion::kAccountId);

  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message,
            "strkey decode failed for account id: must be a public account key (G...)");
}

}  // namespace
}  // namespace anchor_events
