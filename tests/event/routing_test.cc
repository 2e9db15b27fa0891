#include "event/routing.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "event_test_util.h"

namespace anchor_events::event {
namespace {

using config::ClientConfig;
using config::ClientType;

// The clients of testdata/clients.yaml.
ClientConfig WalletA() {
  ClientConfig client;
  client.name = "wallet-a";
  client.type = ClientType::kNoncustodial;
  client.domains = {"wallet-a.example"};
  client.callback_urls.sep6 = "http://wallet-a.example:18081/callbacks/sep6";
  client.callback_urls.sep24 = "http://wallet-a.example:18081/callbacks/sep24";
  client.callback_urls.sep31 = "http://wallet-a.example:18081/callbacks/sep31";
  client.callback_urls.sep12 = "http://wallet-a.example:18081/callbacks/sep12";
  return client;
}

ClientConfig WalletB() {
  ClientConfig client;
  client.name = "wallet-b";
  client.type = ClientType::kCustodial;
  client.signing_keys = {"GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX"};
  client.callback_urls.sep6 = "http://wallet-b.example:18082/hooks/sep6";
  client.callback_urls.sep31 = "http://wallet-b.example:18082/hooks/sep31";
  return client;
}

ClientConfig WalletC() {
  ClientConfig client;
  client.name = "wallet-c-no-callbacks";
  client.type = ClientType::kNoncustodial;
  client.domains = {"wallet-c.example"};
  return client;
}

std::string SkipOf(const Event& event, const ClientConfig& client) {
  return std::string(SkipReasonLabel(RouteToClient(event, client).skip));
}

TEST(RouteToClientTest, SendsSep24LifecycleOnlyToWalletA) {
  for (const std::string& line : ReadEventLines("sep24-deposit-lifecycle.jsonl")) {
    Event event = MustParse(line);

    Route route = RouteToClient(event, WalletA());

    EXPECT_EQ(route.skip, SkipReason::kNone);
    EXPECT_EQ(route.url, "http://wallet-a.example:18081/callbacks/sep24");
    EXPECT_EQ(SkipOf(event, WalletB()), "other_client");
    EXPECT_EQ(SkipOf(event, WalletC()), "other_client");
  }
}

TEST(RouteToClientTest, MatchesANoncustodialClientByDomainAlone) {
  Event event = MustParse(R"({"type":"transaction_created","transaction":{"id":"t","sep":"24",)"
                          R"("client_domain":"Wallet-A.Example"}})");

  Route route = RouteToClient(event, WalletA());

  EXPECT_EQ(route.skip, SkipReason::kNone);
  EXPECT_EQ(route.url, WalletA().callback_urls.sep24);
  EXPECT_EQ(SkipOf(event, WalletB()), "other_client");
}

TEST(RouteToClientTest, NeverMatchesACustodialClientByDomain) {
  ClientConfig custodial = WalletA();
  custodial.type = ClientType::kCustodial;
  Event event = MustParse(R"({"type":"transaction_created","transaction":{"id":"t","sep":"24",)"
                          R"("client_domain":"wallet-a.example"}})");

  EXPECT_EQ(SkipOf(event, custodial), "other_client");
}

TEST(RouteToClientTest, ClientNameOfAnotherClientWinsOverAMatchingDomain) {
  Event event = MustParse(R"({"type":"transaction_created","transaction":{"id":"t","sep":"24",)"
                          R"("client_name":"wallet-b","client_domain":"wallet-a.example"}})");

  EXPECT_FALSE(BelongsTo(event, WalletA()));
  EXPECT_EQ(SkipOf(event, WalletA()), "other_client");
  EXPECT_TRUE(BelongsTo(event, WalletB()));
}

TEST(RouteToClientTest, SendsSep6WithdrawalToWalletBByName) {
  for (const std::string& line : ReadEventLines("sep6-withdrawal-error.jsonl")) {
    Event event = MustParse(line);

    Route route = RouteToClient(event, WalletB());

    EXPECT_EQ(route.skip, SkipReason::kNone);
    EXPECT_EQ(route.url, "http://wallet-b.example:18082/hooks/sep6");
    EXPECT_EQ(SkipOf(event, WalletA()), "other_client");
  }
}

TEST(RouteToClientTest, SendsSep31ToWalletBButNotItsQuote) {
  std::vector<std::string> lines = ReadEventLines("sep31-receive.jsonl");
  Event quote = MustParse(lines[0]);
  Event receive = MustParse(lines[1]);

  Route route = RouteToClient(receive, WalletB());

  EXPECT_EQ(route.skip, SkipReason::kNone);
  EXPECT_EQ(route.url, "http://wallet-b.example:18082/hooks/sep31");
  for (const ClientConfig& client : {WalletA(), WalletB(), WalletC()}) {
    EXPECT_EQ(SkipOf(quote, client), "not_for_clients") << client.name;
  }
}

TEST(RouteToClientTest, SendsUnattributedEventsToNobody) {
  std::vector<std::string> lines = ReadEventLines("customers-and-unattributed.jsonl");
  Event customer = MustParse(lines[0]);
  Event transaction = MustParse(lines[1]);
  Event quote = MustParse(lines[2]);

  for (const ClientConfig& client : {WalletA(), WalletB(), WalletC()}) {
    EXPECT_EQ(SkipOf(customer, client), "unattributed") << client.name;
    EXPECT_EQ(SkipOf(transaction, client), "unattributed") << client.name;
    EXPECT_EQ(SkipOf(quote, client), "not_for_clients") << client.name;
  }
}

TEST(RouteToClientTest, SkipsAClientWithoutAUrlForTheProtocol) {
  Event for_c = MustParse(R"({"type":"transaction_created","transaction":{"id":"t","sep":"24",)"
                          R"("client_domain":"wallet-c.example"}})");
  Event sep24_for_b = MustParse(R"({"type":"transaction_created","transaction":{"id":"t",)"
                                R"("sep":"24","client_name":"wallet-b"}})");
  Event sep38_for_a = MustParse(R"({"type":"transaction_created","transaction":{"id":"t",)"
                                R"("sep":"38","client_name":"wallet-a"}})");

  EXPECT_EQ(SkipOf(for_c, WalletC()), "no_callback_url");
  EXPECT_EQ(SkipOf(sep24_for_b, WalletB()), "no_callback_url");
  EXPECT_EQ(SkipOf(sep38_for_a, WalletA()), "no_callback_url");
  EXPECT_TRUE(RouteToClient(for_c, WalletC()).url.empty());
}

TEST(RouteToClientTest, SendsAnAttributedCustomerToSep12) {
  Event customer = MustParse(R"({"type":"customer_updated","sep":"12","customer":{"id":"c",)"
                             R"("client_domain":"wallet-a.example"}})");

  Route route = RouteToClient(customer, WalletA());

  EXPECT_EQ(route.skip, SkipReason::kNone);
  EXPECT_EQ(route.url, "http://wallet-a.example:18081/callbacks/sep12");
  EXPECT_EQ(SkipOf(customer, WalletB()), "other_client");
}

TEST(RouteToClientTest, UsesTheEventSepWhenTheTransactionHasNone) {
  Event event = MustParse(R"({"type":"transaction_created","sep":"31","transaction":{"id":"t",)"
                          R"("client_name":"wallet-b"}})");

  EXPECT_EQ(RouteToClient(event, WalletB()).url, "http://wallet-b.example:18082/hooks/sep31");
}

bool Tagged(const Event& event, const ClientConfig& client) {
  std::vector<uint64_t> tags = AudienceTags(client);
  return std::find(tags.begin(), tags.end(), AudienceTag(event)) != tags.end();
}

// A wallet lane is woken at once only for events tagged for it, so every event RouteToClient
// sends to a client must carry one of that client's tags; most others must not.
TEST(AudienceTagTest, EveryEventRoutedToAClientCarriesOneOfItsTags) {
  std::vector<Event> events;
  for (const char* file : {"sep24-deposit-lifecycle.jsonl", "sep6-withdrawal-error.jsonl",
                           "sep31-receive.jsonl", "customers-and-unattributed.jsonl"}) {
    for (const std::string& line : ReadEventLines(file)) {
      events.push_back(MustParse(line));
    }
  }
  for (const char* json : {R"({"type":"transaction_created","transaction":{"id":"t","sep":"24",)"
                           R"("client_domain":"WALLET-A.example"}})",
                           R"({"type":"transaction_created","transaction":{"id":"t","sep":"24",)"
                           R"("client_name":"wallet-b","client_domain":"wallet-a.example"}})",
                           R"({"type":"customer_updated","sep":"12","customer":{"id":"c",)"
                           R"("client_domain":"wallet-a.example"}})",
                           R"({"type":"transaction_created","transaction":{"id":"t","sep":"6",)"
                           R"("client_name":"wallet-a"}})"}) {
    events.push_back(MustParse(json));
  }
  ClientConfig custodial_a = WalletA();
  custodial_a.type = ClientType::kCustodial;
  ClientConfig two_domains = WalletA();
  two_domains.domains = {"other.example", "Wallet-A.Example"};
  int routed = 0;
  int not_woken = 0;
  for (const Event& event : events) {
    for (const ClientConfig& client : {WalletA(), WalletB(), WalletC(), custodial_a, two_domains}) {
      if (RouteToClient(event, client).skip == SkipReason::kNone) {
        ++routed;
        EXPECT_TRUE(Tagged(event, client)) << client.name << ": " << event.id;
      } else if (!Tagged(event, client)) {
        ++not_woken;
      }
    }
  }
  EXPECT_GT(routed, 10);
  EXPECT_GT(not_woken, 20);
}

TEST(AudienceTagTest, SeparatesClientsAndKeepsQuotesAndUnattributedForNoClient) {
  std::vector<std::string> unattributed = ReadEventLines("customers-and-unattributed.jsonl");
  for (const std::string& line : unattributed) {
    EXPECT_EQ(AudienceTag(MustParse(line)), kNoClientTag);
  }
  Event for_a = MustParse(ReadEventLines("sep24-deposit-lifecycle.jsonl")[0]);
  Event for_b = MustParse(ReadEventLines("sep6-withdrawal-error.jsonl")[0]);
  EXPECT_TRUE(Tagged(for_a, WalletA()));
  EXPECT_FALSE(Tagged(for_a, WalletB()));
  EXPECT_FALSE(Tagged(for_b, WalletA()));
  ClientConfig custodial_a = WalletA();
  custodial_a.type = ClientType::kCustodial;
  Event by_domain = MustParse(R"({"type":"transaction_created","transaction":{"id":"t",)"
                              R"("sep":"24","client_domain":"Wallet-A.example"}})");
  EXPECT_TRUE(Tagged(by_domain, WalletA()));
  EXPECT_FALSE(Tagged(by_domain, custodial_a)) << "a custodial client is never matched by domain";
  // Names compare exactly, as BelongsTo compares them.
  Event other_case = MustParse(R"({"type":"transaction_created","transaction":{"id":"t",)"
                               R"("sep":"6","client_name":"Wallet-B"}})");
  EXPECT_EQ(SkipOf(other_case, WalletB()), "other_client");
  EXPECT_FALSE(Tagged(other_case, WalletB()));
  for (const ClientConfig& client : {WalletA(), WalletB(), WalletC()}) {
    for (uint64_t tag : AudienceTags(client)) {
      EXPECT_GT(tag, kNoClientTag) << client.name;
    }
  }
}

TEST(RouteToClientTest, LabelsAreStable) {
  EXPECT_EQ(SkipReasonLabel(SkipReason::kNone), "none");
  EXPECT_EQ(SkipReasonLabel(SkipReason::kUnattributed), "unattributed");
  EXPECT_EQ(SkipReasonLabel(SkipReason::kOtherClient), "other_client");
  EXPECT_EQ(SkipReasonLabel(SkipReason::kNoCallbackUrl), "no_callback_url");
  EXPECT_EQ(SkipReasonLabel(SkipReason::kNotForClients), "not_for_clients");
}

}  // namespace
}  // namespace anchor_events::event
