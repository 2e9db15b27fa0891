#include "control/render.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/loader.h"

namespace anchor_events::control {
namespace {

// A self-signed certificate made once for these tests (openssl req -x509, P-256).
constexpr char kCertificate[] = R"(-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUCuX5iBQjfEdD21/l9UN/QlJT/mcwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLdGVzdC13YWxsZXQwHhcNMjYxMjA0MTkyODM2WhcNMzYxMjAx
MTkyODM2WjAWMRQwEgYDVQQDDAt0ZXN0LXdhbGxldDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABHSTr1EuBaeZ0vPpMkq24hQjmMLDyL3Xkzi1Uh9idS9KEagxvnHH
uQU9rrvRKEoBgqJ2RZedN9WJuuMm7WfYboejUzBRMB0GA1UdDgQWBBQAIKOBnw0U
CFG4NtdzeJQ6JB4+6TAfBgNVHSMEGDAWgBQAIKOBnw0UCFG4NtdzeJQ6JB4+6TAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDmRsNaqhyvZ/VUa31Z
LTIFyNH/t/kFvnK5Ca0qwYRt2gIhALmSVMV+6xP2gcCeGfJqwB0FI1YQjKeHLfsV
cKIueh/e
-----END CERTIFICATE-----
)";

// A fresh P-256 key and a self-signed certificate for it, as PEM, made for one test.
struct Pem {
  std::string certificate;
  std::string key;
};

Pem MakeCertificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* certificate = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate), 0);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 3600);
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("client"), -1, -1, 0);
  X509_set_issuer_name(certificate, name);
  X509_sign(certificate, key, EVP_sha256());
  auto text = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(size));
    BIO_free(bio);
    return out;
  };
  Pem pem{text([&](BIO* bio) { PEM_write_bio_X509(bio, certificate); }), text([&](BIO* bio) {
            PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
          })};
  X509_free(certificate);
  EVP_PKEY_free(key);
  return pem;
}

CallbackClient Make(const std::string& name, const std::string& spec_json,
                    const std::string& created = "2026-12-01T00:00:00Z") {
  std::string json = R"({"metadata":{"namespace":"ns","name":")" + name + R"(","uid":"u-)" + name +
                     R"(","generation":3,"resourceVersion":"7",)" + R"("creationTimestamp":")" +
                     created + R"("},"spec":)" + spec_json + "}";
  Result<CallbackClient> client = ParseCallbackClient(std::string_view(json));
  EXPECT_TRUE(client.ok()) << (client.ok() ? "" : client.error().message);
  return client.ok() ? *client : CallbackClient{};
}

std::string Wallet(const std::string& domain) {
  return R"({"type":"noncustodial","domains":[")" + domain +
         R"("],"callbackUrls":{"sep24":"https://)" + domain + R"(/cb"}})";
}

Rendering RenderAll(const std::vector<CallbackClient>& clients, const SecretIndex& secrets = {}) {
  std::vector<const CallbackClient*> pointers;
  for (const CallbackClient& client : clients) {
    pointers.push_back(&client);
  }
  return Render(pointers, secrets);
}

// The rendered document loads in the processor with the clients it should hold.
std::vector<config::ClientConfig> Load(const Rendering& rendering, int64_t revision) {
  std::vector<std::string> problems;
  Result<config::ClientsDocument> document =
      config::ParseClientsDocument(ClientsDocument(revision, rendering), "rendered",
                                   config::DefaultClientLaneOptions(), &problems);
  EXPECT_TRUE(document.ok()) << (problems.empty() ? "" : problems.front());
  if (!document.ok()) {
    return {};
  }
  EXPECT_EQ(document->revision, std::to_string(revision));
  return document->clients;
}

TEST(RenderTest, SpecFieldsBecomeTheProcessorsItem) {
  CallbackClient client = Make("wallet-a", R"({"type":"noncustodial","name":"Wallet_A",
      "domains":["a.example"],"callbackUrls":{"sep24":"https://a.example/24","sep6":"https://a.example/6"},
      "maxAttempts":4,"initialBackoffMs":100,"maxBackoffMs":900,"maxInFlight":8,
      "requestTimeoutMs":2500,"standardWebhooks":true,"allowedNetworks":["10.1.0.0/16"],
      "allowAnyDestination":true,"destinationAccounts":[]})");
  Rendering rendering = RenderAll({client});
  ASSERT_EQ(rendering.outcomes.at("ns/wallet-a").verdict, Verdict::kValid)
      << rendering.outcomes.at("ns/wallet-a").message;
  std::vector<config::ClientConfig> loaded = Load(rendering, 4);
  ASSERT_EQ(loaded.size(), 1u);
  const config::ClientConfig& c = loaded[0];
  EXPECT_EQ(c.name, "Wallet_A");
  EXPECT_EQ(c.domains, std::vector<std::string>{"a.example"});
  EXPECT_EQ(c.callback_urls.sep24, "https://a.example/24");
  EXPECT_EQ(c.callback_urls.sep6, "https://a.example/6");
  EXPECT_EQ(c.lane.retry.max_attempts, 4);
  EXPECT_EQ(c.lane.retry.initial_backoff.count(), 100);
  EXPECT_EQ(c.lane.retry.max_backoff.count(), 900);
  EXPECT_EQ(c.lane.max_in_flight, 8);
  EXPECT_EQ(c.lane.request_timeout.count(), 2500);
  EXPECT_TRUE(c.standard_webhooks);
  EXPECT_EQ(c.allowed_networks, std::vector<std::string>{"10.1.0.0/16"});
}

TEST(RenderTest, InvalidResourcesAreLeftOutAndTheOthersStay) {
  std::vector<CallbackClient> clients = {
      Make("good", Wallet("good.example")),
      // The CRD's pattern lets this through; the processor's strkey check does not.
      Make(
          "bad-key",
          R"({"type":"custodial","signingKeys":["GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXY"]})"),
      Make("unknown", R"({"type":"noncustodial","domains":["u.example"],"colour":"red"})"),
  };
  Rendering rendering = RenderAll(clients);
  EXPECT_EQ(rendering.outcomes.at("ns/good").verdict, Verdict::kValid);
  const Outcome& bad = rendering.outcomes.at("ns/bad-key");
  EXPECT_EQ(bad.verdict, Verdict::kInvalidSpec);
  EXPECT_NE(bad.message.find("signing_keys[0]"), std::string::npos) << bad.message;
  EXPECT_NE(bad.message.find("CallbackClient ns/bad-key"), std::string::npos) << bad.message;
  EXPECT_EQ(bad.message.find("ns/bad-key:"), std::string::npos) << bad.message;
  EXPECT_STREQ(VerdictReason(bad.verdict), "InvalidSpec");
  EXPECT_EQ(rendering.outcomes.at("ns/unknown").verdict, Verdict::kInvalidSpec);
  EXPECT_NE(rendering.outcomes.at("ns/unknown").message.find("spec.colour"), std::string::npos);
  std::vector<config::ClientConfig> loaded = Load(rendering, 1);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].name, "good");
}

TEST(RenderTest, TheOlderResourceKeepsANameOrDomain) {
  std::vector<CallbackClient> clients = {
      Make("newer", R"({"type":"noncustodial","name":"shared","domains":["n.example"]})",
           "2026-12-02T00:00:00Z"),
      Make("older", R"({"type":"noncustodial","name":"shared","domains":["o.example"]})",
           "2026-12-01T00:00:00Z"),
      Make("domain-thief", Wallet("o.example"), "2026-12-03T00:00:00Z"),
  };
  Rendering rendering = RenderAll(clients);
  EXPECT_EQ(rendering.outcomes.at("ns/older").verdict, Verdict::kValid);
  EXPECT_EQ(rendering.outcomes.at("ns/newer").verdict, Verdict::kDuplicateName);
  EXPECT_NE(rendering.outcomes.at("ns/newer").message.find("ns/older"), std::string::npos);
  EXPECT_EQ(rendering.outcomes.at("ns/domain-thief").verdict, Verdict::kDuplicateDomain);
  EXPECT_EQ(Load(rendering, 2).size(), 1u);
}

TEST(RenderTest, CaBundlesComeFromSecretsAndAreCheckedAsPem) {
  std::string spec = R"({"type":"noncustodial","domains":["ca.example"],
      "callbackUrls":{"sep24":"https://ca.example/cb"},"caSecretRef":{"name":"wallet-ca","key":"ca.crt"}})";
  std::vector<CallbackClient> clients = {Make("with-ca", spec)};

  Rendering missing = RenderAll(clients);
  EXPECT_EQ(missing.outcomes.at("ns/with-ca").verdict, Verdict::kSecretNotFound);
  EXPECT_NE(missing.outcomes.at("ns/with-ca").message.find("ns/wallet-ca"), std::string::npos);

  SecretIndex wrong_key{{"ns/wallet-ca", {true, {{"other", kCertificate}}, ""}}};
  EXPECT_EQ(RenderAll(clients, wrong_key).outcomes.at("ns/with-ca").verdict,
            Verdict::kSecretNotFound);

  SecretIndex not_pem{{"ns/wallet-ca", {true, {{"ca.crt", "not a certificate"}}, ""}}};
  EXPECT_EQ(RenderAll(clients, not_pem).outcomes.at("ns/with-ca").verdict, Verdict::kInvalidSpec);

  SecretIndex good{{"ns/wallet-ca", {true, {{"ca.crt", kCertificate}}, ""}}};
  Rendering rendering = RenderAll(clients, good);
  ASSERT_EQ(rendering.outcomes.at("ns/with-ca").verdict, Verdict::kValid)
      << rendering.outcomes.at("ns/with-ca").message;
  EXPECT_EQ(rendering.files.at("ca-ns-with-ca.pem"), kCertificate);
  EXPECT_NE(rendering.items_yaml.find("ca_file: ca-ns-with-ca.pem"), std::string::npos);

  // A changed bundle changes what the processor loads, so the fingerprint follows it.
  std::string other = std::string(kCertificate) + kCertificate;
  SecretIndex rotated{{"ns/wallet-ca", {true, {{"ca.crt", other}}, ""}}};
  EXPECT_NE(RenderAll(clients, rotated).outcomes.at("ns/with-ca").fingerprint,
            rendering.outcomes.at("ns/with-ca").fingerprint);
}

TEST(RenderTest, KeyMaterialGoesToTheSecretAndIsChecked) {
  std::string spec = R"({"type":"noncustodial","domains":["m.example"],"standardWebhooks":true,
      "callbackUrls":{"sep24":"https://m.example/cb"},
      "clientCertSecretRef":{"name":"wallet-tls"},
      "webhookSecretRef":{"name":"wallet-hooks"},
      "webhookSecretPreviousRef":{"name":"wallet-hooks","key":"old"}})";
  std::vector<CallbackClient> clients = {Make("mtls", spec)};
  Pem pem = MakeCertificate();
  std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  std::string old = "whsec_c2VjcmV0LXRoYXQtaXMtbG9uZy1lbm91Z2gtMzI=";
  SecretIndex secrets{
      {"ns/wallet-tls", {true, {{"tls.crt", pem.certificate}, {"tls.key", pem.key}}, ""}},
      {"ns/wallet-hooks", {true, {{"webhook-secret", secret + "\n"}, {"old", old}}, ""}}};
  Rendering rendering = RenderAll(clients, secrets);
  const Outcome& outcome = rendering.outcomes.at("ns/mtls");
  ASSERT_EQ(outcome.verdict, Verdict::kValid) << outcome.message;
  EXPECT_EQ(rendering.secret_files.at("tls-crt-ns-mtls.pem"), pem.certificate);
  EXPECT_EQ(rendering.secret_files.at("tls-key-ns-mtls.pem"), pem.key);
  EXPECT_EQ(rendering.secret_files.at("whsec-ns-mtls"), secret);
  EXPECT_EQ(rendering.secret_files.at("whsec-previous-ns-mtls"), old);
  // Only paths reach the ConfigMap, never the material.
  EXPECT_NE(rendering.items_yaml.find("client_key_file: ../client-secrets/tls-key-ns-mtls.pem"),
            std::string::npos)
      << rendering.items_yaml;
  EXPECT_NE(rendering.items_yaml.find("webhook_secret_file: ../client-secrets/whsec-ns-mtls"),
            std::string::npos);
  EXPECT_EQ(rendering.items_yaml.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(rendering.items_yaml.find(secret), std::string::npos);

  Pem other = MakeCertificate();
  SecretIndex mismatched = secrets;
  mismatched["ns/wallet-tls"].data["tls.key"] = other.key;
  const Outcome bad_pair = RenderAll(clients, mismatched).outcomes.at("ns/mtls");
  EXPECT_EQ(bad_pair.verdict, Verdict::kInvalidSpec);
  EXPECT_NE(bad_pair.message.find("do not belong together"), std::string::npos);
  EXPECT_EQ(bad_pair.message.find("PRIVATE"), std::string::npos);

  SecretIndex short_secret = secrets;
  short_secret["ns/wallet-hooks"].data["webhook-secret"] = "whsec_c2hvcnQ=";
  const Outcome bad_secret = RenderAll(clients, short_secret).outcomes.at("ns/mtls");
  EXPECT_EQ(bad_secret.verdict, Verdict::kInvalidSpec);
  EXPECT_EQ(bad_secret.message.find("c2hvcnQ"), std::string::npos) << "the secret was echoed";

  SecretIndex missing = secrets;
  missing.erase("ns/wallet-hooks");
  EXPECT_EQ(RenderAll(clients, missing).outcomes.at("ns/mtls").verdict, Verdict::kSecretNotFound);
}

TEST(RenderTest, OutputIsStableAndSortedByName) {
  std::vector<CallbackClient> one = {Make("b", Wallet("b.example")),
                                     Make("a", Wallet("a.example"))};
  std::vector<CallbackClient> two = {Make("a", Wallet("a.example")),
                                     Make("b", Wallet("b.example"))};
  Rendering first = RenderAll(one);
  EXPECT_EQ(first.items_yaml, RenderAll(two).items_yaml);
  EXPECT_LT(first.items_yaml.find("name: a"), first.items_yaml.find("name: b"));
  EXPECT_EQ(Load(RenderAll({}), 9).size(), 0u);
}

TEST(RenderTest, EveryClientAppearsOnceWhenAgeAndNameOrdersDiffer) {
  std::vector<CallbackClient> clients = {
      Make("zulu", Wallet("z.example"), "2026-12-01T00:00:00Z"),
      Make("mike", Wallet("m.example"), "2026-12-02T00:00:00Z"),
      Make("alpha", Wallet("a.example"), "2026-12-03T00:00:00Z"),
  };
  std::vector<config::ClientConfig> loaded = Load(RenderAll(clients), 3);
  ASSERT_EQ(loaded.size(), 3u);
  EXPECT_EQ(loaded[0].name, "alpha");
  EXPECT_EQ(loaded[1].name, "mike");
  EXPECT_EQ(loaded[2].name, "zulu");
}

TEST(RenderTest, DocumentRevisionReadsWhatClientsDocumentWrote) {
  Rendering rendering = RenderAll({Make("a", Wallet("a.example"))});
  EXPECT_EQ(DocumentRevision(ClientsDocument(42, rendering)), 42);
  EXPECT_EQ(DocumentRevision("items: []\n"), std::nullopt);
  EXPECT_EQ(DocumentRevision("revision: \"x1\"\nitems: []\n"), std::nullopt);
  EXPECT_EQ(DocumentRevision("{not yaml"), std::nullopt);
}

TEST(ResourceTest, StatusIsReadBack) {
  std::string json = R"({"metadata":{"namespace":"ns","name":"w","generation":2},
      "spec":{"type":"noncustodial","domains":["w.example"]},
      "status":{"observedGeneration":2,"clientName":"w","configGeneration":5,
        "conditions":[{"type":"Ready","status":"True","reason":"Applied","message":"ok",
                       "observedGeneration":2,"lastTransitionTime":"2026-12-04T00:00:00Z"}]}})";
  Result<CallbackClient> client = ParseCallbackClient(std::string_view(json));
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(client->client_name, "w");
  EXPECT_EQ(client->status.observed_generation, 2);
  EXPECT_EQ(client->status.config_generation, 5);
  EXPECT_EQ(client->status.ready.reason, "Applied");
  EXPECT_EQ(client->status.ready.last_transition_time, "2026-12-04T00:00:00Z");
  EXPECT_FALSE(ParseCallbackClient(std::string_view(R"({"spec":{}})")).ok());
}

}  // namespace
}  // namespace anchor_events::control
