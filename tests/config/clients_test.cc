#include <gtest/gtest.h>

#include "config/loader.h"
#include "config_test_util.h"
#include "test_data.h"

namespace anchor_events::config {
namespace {

constexpr char kAccount[] = "GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX";

class ClientsTest : public ::testing::Test {
 protected:
  Result<std::vector<ClientConfig>> Parse(const std::string& text) {
    problems_.clear();
    return ParseClients(text, "clients.yaml", DefaultClientLaneOptions(), &problems_);
  }

  bool HasProblem(std::initializer_list<std::string> parts) const {
    int matches = 0;
    for (const std::string& problem : problems_) {
      bool all = true;
      for (const std::string& part : parts) {
        all = all && problem.find(part) != std::string::npos;
      }
      matches += all ? 1 : 0;
    }
    return matches == 1;
  }

  std::string Problems() const {
    std::string text;
    for (const std::string& problem : problems_) {
      text += problem + "\n";
    }
    return text;
  }

  // A valid noncustodial item with `extra` lines (indented by four spaces) added.
  static std::string Noncustodial(const std::string& extra) {
    return "items:\n  - name: w\n    type: noncustodial\n    domains: [w.example]\n" + extra;
  }

  std::vector<std::string> problems_;
};

TEST_F(ClientsTest, ParsesTheSharedClientsFile) {
  Result<std::vector<ClientConfig>> clients =
      Parse(anchor_events::testing::ReadTestFile("clients.yaml"));

  ASSERT_TRUE(clients.ok()) << Problems();
  ASSERT_EQ(clients->size(), 3u);
  const ClientConfig& a = (*clients)[0];
  EXPECT_EQ(a.name, "wallet-a");
  EXPECT_EQ(a.type, ClientType::kNoncustodial);
  EXPECT_EQ(a.domains, std::vector<std::string>{"wallet-a.example"});
  EXPECT_EQ(a.callback_urls.sep24, "http://wallet-a.example:18081/callbacks/sep24");
  EXPECT_EQ(a.lane, DefaultClientLaneOptions());
  const ClientConfig& b = (*clients)[1];
  EXPECT_EQ(b.type, ClientType::kCustodial);
  EXPECT_EQ(b.signing_keys, std::vector<std::string>{kAccount});
  EXPECT_TRUE(b.callback_urls.sep24.empty());
  EXPECT_FALSE((*clients)[2].callback_urls.Any());
}

TEST_F(ClientsTest, ParsesJsonDocuments) {
  Result<std::vector<ClientConfig>> clients =
      Parse(R"({"items":[{"name":"w","type":"custodial","signing_keys":[")" +
            std::string(kAccount) + R"("],"callback_urls":{"sep31":"https://w.example/cb"}}]})");

  ASSERT_TRUE(clients.ok()) << Problems();
  EXPECT_EQ((*clients)[0].callback_urls.sep31, "https://w.example/cb");
}

TEST_F(ClientsTest, AppliesExtensionsOverTheLaneDefaults) {
  Result<std::vector<ClientConfig>> clients =
      Parse(Noncustodial("    max_attempts: 7\n    initial_backoff_ms: 500\n"
                         "    max_backoff_ms: 8000\n    max_in_flight: 4\n"
                         "    request_timeout_ms: 3000\n    standard_webhooks: true\n"
                         "    allowed_networks: [10.0.0.0/8, 'fd00::/8']\n"
                         "    ca_file: /etc/ssl/w.pem\n"));

  ASSERT_TRUE(clients.ok()) << Problems();
  const ClientConfig& client = (*clients)[0];
  EXPECT_EQ(client.lane.retry.max_attempts, 7);
  EXPECT_EQ(client.lane.retry.initial_backoff.count(), 500);
  EXPECT_EQ(client.lane.retry.max_backoff.count(), 8000);
  EXPECT_EQ(client.lane.max_in_flight, 4);
  EXPECT_EQ(client.lane.request_timeout.count(), 3000);
  EXPECT_TRUE(client.standard_webhooks);
  EXPECT_EQ(client.allowed_networks, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  EXPECT_EQ(client.ca_file, "/etc/ssl/w.pem");
}

TEST_F(ClientsTest, AcceptsAndIgnoresPlatformOnlyKeys) {
  Result<std::vector<ClientConfig>> clients = Parse(
      "items:\n  - name: w\n    type: custodial\n    signing_keys: [" + std::string(kAccount) +
      "]\n    allow_any_destination: false\n    destination_accounts: [" + kAccount + "]\n");

  EXPECT_TRUE(clients.ok()) << Problems();
}

TEST_F(ClientsTest, RejectsUnknownKeysWithLine) {
  EXPECT_FALSE(Parse(Noncustodial("    callback_url: https://w.example/cb\n")).ok());
  EXPECT_TRUE(
      HasProblem({"unknown key for items[0].callback_url (clients.yaml:5)", "callback_urls.sep6"}))
      << Problems();
  EXPECT_FALSE(Parse(Noncustodial("    callback_urls:\n      sep10: https://w.example/cb\n")).ok());
  EXPECT_TRUE(HasProblem({"unknown key for items[0].callback_urls.sep10 (clients.yaml:6)"}))
      << Problems();
  EXPECT_FALSE(Parse("clients:\n  - name: w\n").ok());
  EXPECT_TRUE(HasProblem({"unknown key for clients (clients.yaml:1)"})) << Problems();
}

TEST_F(ClientsTest, RejectsDuplicateKeysInAnItem) {
  EXPECT_FALSE(Parse(Noncustodial("    name: v\n")).ok());
  EXPECT_TRUE(
      HasProblem({"duplicate key for items[0].name (clients.yaml:5)", "already written at line 2"}))
      << Problems();
}

TEST_F(ClientsTest, RejectsDuplicateNamesAndSharedDomains) {
  EXPECT_FALSE(Parse(Noncustodial("  - name: w\n    type: noncustodial\n"
                                  "    domains: [x.example]\n"
                                  "  - name: v\n    type: noncustodial\n"
                                  "    domains: [w.example]\n"))
                   .ok());
  EXPECT_TRUE(HasProblem({"duplicate client for 'w'"})) << Problems();
  EXPECT_TRUE(HasProblem({"duplicate domain for 'w.example'", "clients 'w' and 'v'"}))
      << Problems();
}

TEST_F(ClientsTest, RequiresTypeAndKnownType) {
  EXPECT_FALSE(Parse("items:\n  - name: w\n    domains: [w.example]\n").ok());
  EXPECT_TRUE(HasProblem({"missing type for client 'w' (clients.yaml:2)"})) << Problems();
  EXPECT_FALSE(Parse("items:\n  - name: w\n    type: wallet\n").ok());
  EXPECT_TRUE(HasProblem({"items[0].type (clients.yaml:3)", "custodial, noncustodial"}))
      << Problems();
}

TEST_F(ClientsTest, RejectsBadValuesWithTheKeyLine) {
  EXPECT_FALSE(Parse(Noncustodial("    standard_webhooks: yes\n    max_attempts: x\n")).ok());
  EXPECT_TRUE(HasProblem({"items[0].standard_webhooks (clients.yaml:5)", "true or false"}))
      << Problems();
  EXPECT_TRUE(HasProblem({"items[0].max_attempts (clients.yaml:6)", "integer"})) << Problems();
}

TEST_F(ClientsTest, ValidatesEveryClientRule) {
  std::string text =
      "items:\n"
      "  - name: 'bad name'\n    type: custodial\n    signing_keys: [GBAD]\n"
      "  - name: n\n    type: noncustodial\n    domains: ['-bad.example']\n"
      "    callback_urls:\n      sep6: http://u:p@w.example/cb\n      sep24: w.example/cb\n"
      "    max_attempts: 0\n    allowed_networks: [10.0.0.1/8]\n"
      "    initial_backoff_ms: 9000\n";

  EXPECT_FALSE(Parse(text).ok());

  EXPECT_TRUE(HasProblem({"invalid name for client 'bad name' (clients.yaml:2)", "consumer group"}))
      << Problems();
  EXPECT_TRUE(HasProblem({"invalid signing_keys[0] for client 'bad name'", "got 4"})) << Problems();
  EXPECT_TRUE(HasProblem({"invalid domains for client 'n' (clients.yaml:5)"})) << Problems();
  EXPECT_TRUE(HasProblem({"invalid callback_urls.sep6 for client 'n'", "user information"}))
      << Problems();
  EXPECT_TRUE(HasProblem({"invalid callback_urls.sep24 for client 'n'", "absolute"})) << Problems();
  EXPECT_TRUE(HasProblem({"invalid max_attempts for client 'n'", "from 1 to 1000, got 0"}))
      << Problems();
  EXPECT_TRUE(HasProblem({"invalid max_backoff_ms for client 'n'", "at least initial"}))
      << Problems();
  EXPECT_TRUE(HasProblem({"invalid allowed_networks for client 'n'", "bits set"})) << Problems();
  EXPECT_EQ(problems_.size(), 8u) << Problems();
}

TEST(ValidateClientTest, ChecksTypeSpecificKeys) {
  ClientConfig custodial;
  custodial.name = "c";
  custodial.type = ClientType::kCustodial;
  custodial.domains = {"c.example"};
  std::vector<std::string> problems;

  ValidateClient(custodial, "client 'c'", &problems);

  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0],
            "invalid signing_keys for client 'c': a custodial client needs at least one G... "
            "account");
  EXPECT_EQ(problems[1],
            "invalid domains for client 'c': only noncustodial clients are matched by domain");
}

TEST(ValidateClientTest, AcceptsAValidClient) {
  ClientConfig client;
  client.name = "wallet-a";
  client.domains = {"wallet-a.example", "wallet-a.example:8443"};
  client.callback_urls.sep24 = "https://wallet-a.example/cb";
  client.lane = DefaultClientLaneOptions();
  std::vector<std::string> problems;

  ValidateClient(client, "client 'wallet-a'", &problems);

  EXPECT_TRUE(problems.empty()) << problems[0];
}

TEST_F(ClientsTest, ReportsStructuralAndSemanticProblemsInOnePass) {
  std::vector<std::string> problems;

  auto clients = ParseClients(
      "items:\n  - name: w\n    type: noncustodial\n    domains: [w.example]\n"
      "    unknown_key: 1\n    callback_urls:\n      sep24: ftp://w.example/cb\n",
      "clients.yaml", DefaultClientLaneOptions(), &problems);

  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("unknown_key"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("callback_urls.sep24"), std::string::npos) << problems[1];
}

TEST_F(ClientsTest, APastedSeedIsNeverRepeatedInTheError) {
  const std::string seed = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
  std::vector<std::string> problems;

  auto clients =
      ParseClients("items:\n  - name: w\n    type: custodial\n    signing_keys: [" + seed + "]\n",
                   "clients.yaml", DefaultClientLaneOptions(), &problems);

  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("is a secret seed"), std::string::npos) << problems[0];
  EXPECT_EQ(problems[0].find(seed), std::string::npos) << problems[0];
  EXPECT_EQ(problems[0].find(seed.substr(0, 10)), std::string::npos) << problems[0];
}

TEST_F(ClientsTest, EmptyDocumentsAreNoClients) {
  EXPECT_TRUE(Parse("").ok());
  EXPECT_TRUE(Parse("items: []\n").ok());
  Result<std::vector<ClientConfig>> clients = Parse("items:\n");
  ASSERT_TRUE(clients.ok());
  EXPECT_TRUE(clients->empty());
}

TEST_F(ClientsTest, ReadsTheOperatorsRevision) {
  std::vector<std::string> problems;
  Result<ClientsDocument> document = ParseClientsDocument(
      "revision: \"12\"\nitems: []\n", "clients.yaml", DefaultClientLaneOptions(), &problems);
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(document->revision, "12");
  for (const char* bad : {"revision: \"v2\"\n", "revision: [1]\n", "revision: -3\n"}) {
    problems.clear();
    EXPECT_FALSE(
        ParseClientsDocument(bad, "clients.yaml", DefaultClientLaneOptions(), &problems).ok())
        << bad;
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_NE(problems[0].find("revision"), std::string::npos);
  }
  EXPECT_FALSE(Parse("colour: red\nitems: []\n").ok());
}

}  // namespace
}  // namespace anchor_events::config
