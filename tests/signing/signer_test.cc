#include "signing/signer.h"

#include <string>

#include <gtest/gtest.h>

#include "signing/encoding.h"
#include "signing_vectors.h"

namespace anchor_events::signing {
namespace {

using testing::KeyField;
using testing::SigningVectors;
using testing::String;

constexpr int64_t kVectorTime = 1700000000;
constexpr std::string_view kHeaderPrefix = "Signature: ";

SigningKey LoadKey(const std::string& name) {
  Result<SigningKey> key = SigningKey::FromSeed(KeyField(name, "seed"));
  if (!key.ok()) {
    ADD_FAILURE() << key.error().message;
    std::abort();
  }
  return std::move(key).value();
}

std::string WithoutPrefix(const std::string& header) { return header.substr(kHeaderPrefix.size()); }

// A valid header for the "basic" vector, for the tests that mangle or re-time it.
struct BasicVector {
  const rapidjson::Value& vector = SigningVectors()["cases"][0];
  std::string account = KeyField(String(vector, "key"), "account");
  std::string host = String(vector, "host");
  std::string body = String(vector, "body");
  std::string value = WithoutPrefix(String(vector, "header"));
  std::string signature = value.substr(value.find(", s=") + 4);
};

TEST(SignerTest, DerivesTheVectorAccountFromEachSeed) {
  for (const auto& key : SigningVectors()["keys"].GetObject()) {
    const std::string name = key.name.GetString();

    EXPECT_EQ(LoadKey(name).AccountId(), KeyField(name, "account")) << name;
  }
}

TEST(SignerTest, SignMatchesRfc8032Vectors) {
  const SigningKey key1 = LoadKey("rfc8032-test1");
  const SigningKey key2 = LoadKey("rfc8032-test2");

  EXPECT_EQ(testing::BytesToHex(key1.Sign("")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_EQ(testing::BytesToHex(key2.Sign("\x72")),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

TEST(SignerTest, MatchesEveryVectorHeaderByteForByte) {
  const auto& cases = SigningVectors()["cases"].GetArray();
  ASSERT_EQ(cases.Size(), 8u);

  for (const auto& c : cases) {
    const std::string name = String(c, "name");
    const int64_t t = c["t"].GetInt64();

    const std::string value =
        SignatureHeaderValue(LoadKey(String(c, "key")), t, String(c, "host"), String(c, "body"));

    EXPECT_EQ("Signature: " + value, String(c, "header")) << name;
  }
}

TEST(SignerTest, VerifiesEveryVectorHeaderWithAndWithoutFieldName) {
  for (const auto& c : SigningVectors()["cases"].GetArray()) {
    const std::string name = String(c, "name");
    const std::string header = String(c, "header");
    const std::string account = KeyField(String(c, "key"), "account");
    const int64_t t = c["t"].GetInt64();

    Status full = VerifySignatureHeader(header, account, String(c, "host"), String(c, "body"), t);
    Status bare = VerifySignatureHeader(WithoutPrefix(header), account, String(c, "host"),
                                        String(c, "body"), t);

    EXPECT_TRUE(full.ok()) << name << ": " << full.error().message;
    EXPECT_TRUE(bare.ok()) << name << ": " << bare.error().message;
  }
}

TEST(SignerTest, RejectsEveryMustFailVector) {
  const auto& cases = SigningVectors()["must_fail"].GetArray();
  ASSERT_EQ(cases.Size(), 4u);

  for (const auto& c : cases) {
    const std::string name = String(c, "name");
    const std::string header = String(c, "header");
    // Verify at the header's own time so only the signature can fail.
    const int64_t now = std::stoll(header.substr(header.find("t=") + 2));

    Status status = VerifySignatureHeader(header, KeyField(String(c, "key"), "account"),
                                          String(c, "host"), String(c, "body"), now);

    ASSERT_FALSE(status.ok()) << name;
    EXPECT_NE(status.error().message.find("signature does not match"), std::string::npos)
        << name << ": " << status.error().message;
  }
}

TEST(SignerTest, RejectsEveryBadSeedVectorWithoutEchoingIt) {
  const auto& seeds = SigningVectors()["bad_seeds"].GetArray();
  ASSERT_EQ(seeds.Size(), 5u);

  for (const auto& s : seeds) {
    const std::string value = String(s, "value");

    Result<SigningKey> key = SigningKey::FromSeed(value);

    ASSERT_FALSE(key.ok()) << String(s, "why");
    if (value.size() > 8) {
      EXPECT_EQ(key.error().message.find(value.substr(1, 8)), std::string::npos)
          << key.error().message;
    }
  }
}

TEST(SignerTest, RejectsStaleAndFutureTimestampsBeyondMaxAge) {
  const BasicVector v;

  Status at_limit = VerifySignatureHeader(v.value, v.account, v.host, v.body, kVectorTime + 120);
  Status early_limit = VerifySignatureHeader(v.value, v.account, v.host, v.body, kVectorTime - 120);
  Status stale = VerifySignatureHeader(v.value, v.account, v.host, v.body, kVectorTime + 121);
  Status future = VerifySignatureHeader(v.value, v.account, v.host, v.body, kVectorTime - 121);
  Status custom = VerifySignatureHeader(v.value, v.account, v.host, v.body, kVectorTime + 10, 5);

  EXPECT_TRUE(at_limit.ok());
  EXPECT_TRUE(early_limit.ok());
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().message,
            "signature verification failed for Signature header: timestamp is 121 s old, "
            "more than the 120 s allowed");
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.error().message.find("in the future"), std::string::npos);
  EXPECT_FALSE(custom.ok());
}

TEST(SignerTest, RejectsMalformedHeaders) {
  const BasicVector v;
  std::string lower = String(SigningVectors()["cases"][0], "header");
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::string upper_keys = v.value;
  upper_keys[0] = 'T';
  upper_keys[upper_keys.find("s=")] = 'S';
  const std::string malformed[] = {
      "t=1700000000,s=" + v.signature,                 // missing space
      "t=1700000000,  s=" + v.signature,               // two spaces
      "t=1700000000, , s=" + v.signature,              // two commas
      upper_keys,                                      // upper-case keys
      v.value.substr(0, v.value.size() - 2),           // short s (no padding)
      v.value.substr(0, v.value.size() - 4) + "A===",  // bad padding
      v.value + "=",                                   // long s
      v.value + ", x=1",                               // extra part
      " " + v.value,                                   // leading space
      "Signature:" + v.value,                          // no space after the field name
      "s=" + v.signature + ", t=1700000000",           // parts swapped
      "t=, s=" + v.signature,                          // empty t
      "t=-1700000000, s=" + v.signature,               // signed t
      "t=1700000000.5, s=" + v.signature,              // fractional t
      "t=1700000000000000000000, s=" + v.signature,    // overflowing t
      "",
  };

  for (const std::string& header : malformed) {
    Status status = VerifySignatureHeader(header, v.account, v.host, v.body, kVectorTime);

    ASSERT_FALSE(status.ok()) << header;
    EXPECT_NE(status.error().message.find(": malformed, expected"), std::string::npos)
        << header << " -> " << status.error().message;
  }

  // Lower-casing the whole line keeps the format but changes the base64 signature.
  Status lowered = VerifySignatureHeader(lower, v.account, v.host, v.body, kVectorTime);
  ASSERT_FALSE(lowered.ok());
  EXPECT_NE(lowered.error().message.find("signature does not match"), std::string::npos);
}

TEST(SignerTest, AcceptsFieldNameInAnyCase) {
  const BasicVector v;

  Status status =
      VerifySignatureHeader("signature: " + v.value, v.account, v.host, v.body, kVectorTime);

  EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST(SignerTest, RejectsUnusableAccount) {
  const BasicVector v;

  Status seed_as_account = VerifySignatureHeader(v.value, KeyField("rfc8032-test1", "seed"), v.host,
                                                 v.body, kVectorTime);

  ASSERT_FALSE(seed_as_account.ok());
  EXPECT_NE(seed_as_account.error().message.find("account is not usable"), std::string::npos);
}

TEST(SignerTest, SignsWithTheCurrentTimestamp) {
  const SigningKey key = LoadKey("rfc8032-test2");
  const int64_t now = 1800000000;

  const std::string value = SignatureHeaderValue(key, now, "localhost:8092", "{}");

  EXPECT_TRUE(value.starts_with("t=1800000000, s="));
  EXPECT_TRUE(VerifySignatureHeader(value, key.AccountId(), "localhost:8092", "{}", now).ok());
  EXPECT_FALSE(VerifySignatureHeader(value, key.AccountId(), "localhost:8093", "{}", now).ok());
}

TEST(SignerTest, StandardWebhookSignatureCoversIdTimestampAndBody) {
  const SigningKey key = LoadKey("rfc8032-test1");
  Result<Key32> public_key = DecodeStrkey(key.AccountId(), StrkeyVersion::kAccountId);
  ASSERT_TRUE(public_key.ok());
  const std::string body = R"({"transaction":{"id":"txn-0001"}})";

  const std::string header = StandardWebhookSignature(key, "evt-1", kVectorTime, body);

  ASSERT_TRUE(header.starts_with("v1a,"));
  std::optional<std::string> signature = Base64Decode(header.substr(4));
  ASSERT_TRUE(signature.has_value());
  EXPECT_TRUE(VerifyEd25519(*public_key, "evt-1.1700000000." + body, *signature));
  EXPECT_FALSE(VerifyEd25519(*public_key, "evt-2.1700000000." + body, *signature));
  EXPECT_FALSE(VerifyEd25519(*public_key, "evt-1.1700000001." + body, *signature));
}

// The example of the Standard Webhooks specification, as its reference libraries sign it.
TEST(SignerTest, StandardWebhookHmacMatchesTheSpecificationExample) {
  Result<std::string> secret = DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(secret.ok());

  const std::string header = StandardWebhookHmacSignature(*secret, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                                          1614265330, R"({"test": 2432232314})");

  EXPECT_EQ(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(SignerTest, DecodesWebhookSecretsWithOrWithoutPrefixAndNeverEchoesThem) {
  Result<std::string> prefixed = DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  Result<std::string> bare = DecodeWebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  Result<std::string> bad = DecodeWebhookSecret("whsec_not base64!");

  ASSERT_TRUE(prefixed.ok());
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(*prefixed, *bare);
  EXPECT_EQ(prefixed->size(), 24u);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find("not base64"), std::string::npos);
}

TEST(SignerTest, VerifyEd25519RejectsWrongLengthSignatures) {
  Result<Key32> public_key =
      DecodeStrkey(KeyField("rfc8032-test1", "account"), StrkeyVersion::kAccountId);
  ASSERT_TRUE(public_key.ok());

  EXPECT_FALSE(VerifyEd25519(*public_key, "m", ""));
  EXPECT_FALSE(VerifyEd25519(*public_key, "m", std::string(63, 'x')));
  EXPECT_FALSE(VerifyEd25519(*public_key, "m", std::string(65, 'x')));
}

}  // namespace
}  // namespace anchor_events::signing
