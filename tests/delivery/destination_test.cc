#include "delivery/destination.h"

#include <iterator>
#include <sstream>

#include <gtest/gtest.h>

#include "event/event.h"
#include "signing/encoding.h"
#include "test_data.h"

namespace anchor_events::delivery {
namespace {

constexpr const char* kSeed = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
constexpr const char* kAccount = "GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR";
constexpr const char* kSecret = "an-example-callback-secret-of-32-bytes-or-more";

event::Event FirstEvent(const std::string& file) {
  std::string content = anchor_events::testing::ReadTestFile("events/" + file);
  event::ParseResult parsed = event::ParseEvent(content.substr(0, content.find('\n')));
  return std::get<event::Event>(parsed);
}

std::string HeaderValue(const std::vector<std::string>& headers, const std::string& name) {
  for (const std::string& header : headers) {
    if (header.rfind(name + ": ", 0) == 0) {
      return header.substr(name.size() + 2);
    }
  }
  return "";
}

config::CallbackApiConfig ApiConfig(config::AuthType auth) {
  config::CallbackApiConfig api;
  api.enabled = true;
  api.base_url = "http://business.example:8081/callback?tenant=t1";
  api.auth_type = auth;
  api.secret = kSecret;
  return api;
}

TEST(BusinessDestinationTest, PostsToEventPathWithQueryKept) {
  BusinessDestination destination(ApiConfig(config::AuthType::kNone));

  auto prepared = destination.Prepare(FirstEvent("sep24-deposit-lifecycle.jsonl"),
                                      std::chrono::system_clock::now());

  ASSERT_TRUE(std::holds_alternative<Prepared>(prepared));
  EXPECT_EQ(std::get<Prepared>(prepared).url,
            "http://business.example:8081/callback/event?tenant=t1");
}

TEST(BusinessDestinationTest, MintsAFreshJwtPerAttemptInTheConfiguredHeader) {
  config::CallbackApiConfig api = ApiConfig(config::AuthType::kJwt);
  api.jwt_http_header = "X-Auth";
  BusinessDestination destination(api);
  Prepared prepared = std::get<Prepared>(destination.Prepare(
      FirstEvent("sep24-deposit-lifecycle.jsonl"), std::chrono::system_clock::now()));
  auto t0 = std::chrono::system_clock::from_time_t(1700000000);

  std::string first = HeaderValue(destination.AttemptHeaders(prepared, t0), "X-Auth");
  std::string same_second = HeaderValue(
      destination.AttemptHeaders(prepared, t0 + std::chrono::milliseconds(999)), "X-Auth");
  std::string later =
      HeaderValue(destination.AttemptHeaders(prepared, t0 + std::chrono::seconds(5)), "X-Auth");
  std::string back =
      HeaderValue(destination.AttemptHeaders(prepared, t0 + std::chrono::seconds(1)), "X-Auth");

  ASSERT_EQ(first.rfind("Bearer ", 0), 0u);
  EXPECT_EQ(first, same_second) << "the claims are equal within one second";
  EXPECT_NE(first, later);
  EXPECT_NE(back, later) << "a token is reused only for the second it was minted in";
  EXPECT_NE(back, first);
  std::string token = first.substr(7);
  std::string claims_b64 = token.substr(token.find('.') + 1);
  claims_b64 = claims_b64.substr(0, claims_b64.find('.'));
  for (char& c : claims_b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (claims_b64.size() % 4) claims_b64 += '=';
  EXPECT_EQ(*signing::Base64Decode(claims_b64), "{\"iat\":1700000000,\"exp\":1700000030}");
}

TEST(BusinessDestinationTest, SendsApiKeyInConfiguredHeader) {
  config::CallbackApiConfig api = ApiConfig(config::AuthType::kApiKey);
  api.api_key_http_header = "X-Anchor-Key";
  BusinessDestination destination(api);
  Prepared prepared = std::get<Prepared>(destination.Prepare(
      FirstEvent("sep24-deposit-lifecycle.jsonl"), std::chrono::system_clock::now()));

  auto headers = destination.AttemptHeaders(prepared, std::chrono::system_clock::now());

  EXPECT_EQ(HeaderValue(headers, "X-Anchor-Key"), kSecret);
  EXPECT_EQ(HeaderValue(headers, "Authorization"), "");
}

TEST(ClientDestinationTest, SignsEachAttemptOverTheExactBodyAndWrittenHost) {
  config::ClientConfig client;
  client.name = "wallet-a";
  client.type = config::ClientType::kNoncustodial;
  client.domains = {"wallet-a.example"};
  client.callback_urls.sep24 = "http://wallet-a.example:18081/callbacks/sep24";
  auto key = std::make_shared<const signing::KeyHolder>(*signing::SigningKey::FromSeed(kSeed));
  ClientDestination destination(client, key);
  Prepared prepared = std::get<Prepared>(destination.Prepare(
      FirstEvent("sep24-deposit-lifecycle.jsonl"), std::chrono::system_clock::now()));
  auto t0 = std::chrono::system_clock::from_time_t(1700000000);

  auto first = destination.AttemptHeaders(prepared, t0);
  auto second = destination.AttemptHeaders(prepared, t0 + std::chrono::seconds(3));

  EXPECT_EQ(prepared.url, client.callback_urls.sep24);
  EXPECT_EQ(prepared.signature_host, "wallet-a.example:18081");
  std::string signature = HeaderValue(first, "Signature");
  EXPECT_EQ(signature.rfind("t=1700000000, s=", 0), 0u);
  EXPECT_NE(signature, HeaderValue(second, "Signature"));
  EXPECT_TRUE(signing::VerifySignatureHeader(signature, kAccount, "wallet-a.example:18081",
                                             prepared.body, 1700000000)
                  .ok());
  EXPECT_EQ(HeaderValue(first, std::string(kEventIdHeader)), prepared.event_id);
  EXPECT_EQ(HeaderValue(first, "webhook-signature"), "");
}

TEST(ClientDestinationTest, SignsWithTheRotatedKeyFromTheNextAttempt) {
  config::ClientConfig client;
  client.name = "wallet-a";
  client.domains = {"wallet-a.example"};
  client.callback_urls.sep24 = "https://wallet-a.example/cb";
  auto keys = std::make_shared<signing::KeyHolder>(*signing::SigningKey::FromSeed(kSeed));
  ClientDestination destination(client, keys);
  Prepared prepared = std::get<Prepared>(destination.Prepare(
      FirstEvent("sep24-deposit-lifecycle.jsonl"), std::chrono::system_clock::now()));
  auto t0 = std::chrono::system_clock::from_time_t(1700000000);
  const char* kSecondSeed = "SBGM2CE3FD7ZNWU5W3BUN3ARJYHVXCRRT422XJRE3KGPN3KPXCTPXJAU";
  const char* kSecondAccount = "GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX";

  std::string before = HeaderValue(destination.AttemptHeaders(prepared, t0), "Signature");
  keys->Replace(*signing::SigningKey::FromSeed(kSecondSeed));
  std::string after = HeaderValue(destination.AttemptHeaders(prepared, t0), "Signature");

  EXPECT_TRUE(signing::VerifySignatureHeader(before, kAccount, "wallet-a.example", prepared.body,
                                             1700000000)
                  .ok());
  EXPECT_TRUE(signing::VerifySignatureHeader(after, kSecondAccount, "wallet-a.example",
                                             prepared.body, 1700000000)
                  .ok());
  EXPECT_FALSE(
      signing::VerifySignatureHeader(after, kAccount, "wallet-a.example", prepared.body, 1700000000)
          .ok());
}

TEST(ClientDestinationTest, StandardWebhooksCarriesEveryKeyDuringARotation) {
  config::ClientConfig client;
  client.name = "wallet-a";
  client.domains = {"wallet-a.example"};
  client.callback_urls.sep24 = "https://wallet-a.example/cb";
  client.standard_webhooks = true;
  client.webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  client.webhook_secret_previous = "whsec_" + signing::Base64Encode(std::string(32, 'p'));
  const char* kOldSeed = "SBGM2CE3FD7ZNWU5W3BUN3ARJYHVXCRRT422XJRE3KGPN3KPXCTPXJAU";
  const char* kOldAccount = "GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX";
  auto keys = std::make_shared<signing::KeyHolder>(*signing::SigningKey::FromSeed(kSeed));
  keys->SetPrevious(*signing::SigningKey::FromSeed(kOldSeed));
  ClientDestination destination(client, keys);
  Prepared prepared = std::get<Prepared>(destination.Prepare(
      FirstEvent("sep24-deposit-lifecycle.jsonl"), std::chrono::system_clock::now()));
  const std::string signed_text = prepared.event_id + ".1700000000." + prepared.body;

  auto headers =
      destination.AttemptHeaders(prepared, std::chrono::system_clock::from_time_t(1700000000));

  EXPECT_EQ(HeaderValue(headers, "webhook-id"), prepared.event_id);
  EXPECT_EQ(HeaderValue(headers, "webhook-timestamp"), "1700000000");
  std::istringstream parts(HeaderValue(headers, "webhook-signature"));
  std::vector<std::string> signatures{std::istream_iterator<std::string>(parts), {}};
  ASSERT_EQ(signatures.size(), 4u);
  const std::string current_secret = *signing::DecodeWebhookSecret(client.webhook_secret);
  EXPECT_EQ(signatures[0],
            "v1," + signing::Base64Encode(signing::HmacSha256(current_secret, signed_text)));
  EXPECT_EQ(signatures[1],
            "v1," + signing::Base64Encode(signing::HmacSha256(std::string(32, 'p'), signed_text)));
  const std::pair<std::string, const char*> ed25519[] = {{signatures[2], kAccount},
                                                         {signatures[3], kOldAccount}};
  for (const auto& [signature, account] : ed25519) {
    ASSERT_TRUE(signature.starts_with("v1a,"));
    EXPECT_TRUE(signing::VerifyEd25519(*DecodeStrkey(account, StrkeyVersion::kAccountId),
                                       signed_text, *signing::Base64Decode(signature.substr(4))))
        << account;
  }
}

TEST(ClientDestinationTest, SkipsOtherClientsEvents) {
  config::ClientConfig client;
  client.name = "wallet-b";
  client.type = config::ClientType::kCustodial;
  client.signing_keys = {kAccount};
  client.callback_urls.sep24 = "http://wallet-b.example/cb";
  auto key = std::make_shared<const signing::KeyHolder>(*signing::SigningKey::FromSeed(kSeed));
  ClientDestination destination(client, key);

  auto prepared = destination.Prepare(FirstEvent("sep24-deposit-lifecycle.jsonl"),
                                      std::chrono::system_clock::now());

  ASSERT_TRUE(std::holds_alternative<event::SkipReason>(prepared));
  EXPECT_EQ(std::get<event::SkipReason>(prepared), event::SkipReason::kOtherClient);
}

}  // namespace
}  // namespace anchor_events::delivery
