#include "config/loader.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "config/checks.h"
#include "config_test_util.h"
#include "test_data.h"

namespace anchor_events::config {
namespace {

using testing::ConfigTest;
using testing::MinimalEnv;

constexpr char kSeed[] = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
constexpr char kJwtSecret[] = "an-example-callback-secret-of-32-bytes-or-more";

using LoaderTest = ConfigTest;

TEST_F(LoaderTest, DevYamlAndDevEnvLoadTheSameConfig) {
  std::string dir = anchor_events::testing::TestDataDir();
  std::map<std::string, std::string> env = testing::ReadEnvFile(dir + "/dev.env");
  env["CLIENTS_TYPE"] = "file";
  env["CLIENTS_VALUE"] = std::filesystem::absolute(dir + "/clients.yaml").string();
  ASSERT_EQ(env.count("SECRET_SEP10_SIGNING_SEED"), 1u) << "dev.env not found in " << dir;

  Result<LoadedConfig> from_yaml =
      Load(LoadInput{dir + "/dev.services.yaml", {{"SECRET_SEP10_SIGNING_SEED", kSeed}}}, &errors_);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().message;
  Result<LoadedConfig> from_env = Load(LoadInput{"", env}, &errors_);
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;

  EXPECT_EQ(from_yaml->config, from_env->config);
  EXPECT_EQ(Describe(from_yaml->config), Describe(from_env->config));
  const Config& config = from_env->config;
  EXPECT_TRUE(config.client_callbacks_enabled);
  EXPECT_TRUE(config.callback_api.enabled);
  EXPECT_EQ(config.kafka.bootstrap_server, "localhost:29092,localhost:29093");
  EXPECT_EQ(config.kafka.client_id, "ap-event-service");
  EXPECT_EQ(config.kafka.retries, 0);
  EXPECT_EQ(config.kafka.linger_ms, 1000);
  EXPECT_EQ(config.kafka.batch_size, 10);
  EXPECT_EQ(config.kafka.poll_timeout_seconds, 10);
  EXPECT_EQ(config.callback_api.auth_type, AuthType::kJwt);
  EXPECT_EQ(config.callback_api.secret, kJwtSecret);
  EXPECT_EQ(config.callback_api.jwt_expiration_ms, 30000);
  EXPECT_EQ(config.signing_seed, kSeed);
  ASSERT_EQ(config.clients.size(), 3u);
  EXPECT_EQ(config.clients[1].name, "wallet-b");
  EXPECT_EQ(from_yaml->watched_files, from_env->watched_files);
}

TEST_F(LoaderTest, EnvironmentOverridesYamlWhichOverridesDefaults) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["EVENT_QUEUE_KAFKA_CLIENT_ID"] = "from-env";

  Result<LoadedConfig> loaded = LoadWith(
      "event:\n  queue:\n    kafka:\n      client_id: from-yaml\n      linger_ms: 7\n", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.kafka.client_id, "from-env");
  EXPECT_EQ(loaded->config.kafka.linger_ms, 7);
  EXPECT_EQ(loaded->config.kafka.retries, 1);
}

TEST_F(LoaderTest, AcceptsThePlatformsEventsSpelling) {
  Result<LoadedConfig> from_env =
      LoadWith("", {{"EVENTS_QUEUE_KAFKA_BOOTSTRAP_SERVER", "kafka:9092"}});
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;
  Result<LoadedConfig> from_yaml =
      LoadWith("events:\n  queue:\n    kafka:\n      bootstrap_server: kafka:9092\n", {});
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().message;

  EXPECT_EQ(from_env->config.kafka.bootstrap_server, "kafka:9092");
  EXPECT_EQ(from_yaml->config, from_env->config);
}

TEST_F(LoaderTest, AcceptsBothSpellingsOfTheCallbackApiAuthSettings) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_JWT_EXPIRATION_MILLISECONDS"] = "60000";
  env["CALLBACK_API_AUTH_API_KEY_HTTP_HEADER"] = "X-Key";
  env["SECRET_CALLBACK_API_AUTH_SECRET"] = "key";

  Result<LoadedConfig> loaded = LoadWith("callback_api:\n  jwt:\n    http_header: X-Jwt\n", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.callback_api.jwt_expiration_ms, 60000);
  EXPECT_EQ(loaded->config.callback_api.jwt_http_header, "X-Jwt");
  EXPECT_EQ(loaded->config.callback_api.api_key_http_header, "X-Key");
  EXPECT_EQ(loaded->config.callback_api.secret, "key");
}

TEST_F(LoaderTest, SameValueUnderTwoSpellingsIsAccepted) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["EVENTS_QUEUE_KAFKA_BOOTSTRAP_SERVER"] = "localhost:9092";

  EXPECT_TRUE(LoadWith("", env).ok()) << Problems();
}

TEST_F(LoaderTest, TwoSpellingsWithDifferentValuesInEnvAreAnError) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_SECRET"] = "first-secret-value";
  env["SECRET_CALLBACK_API_AUTH_SECRET"] = "second-secret-value";

  EXPECT_FALSE(LoadWith("", env).ok());
  EXPECT_TRUE(HasProblem({"conflicting settings for callback_api.secret", "env CALLBACK_API_SECRET",
                          "env SECRET_CALLBACK_API_AUTH_SECRET"}))
      << Problems();
  EXPECT_EQ(Problems().find("secret-value"), std::string::npos) << "secrets must not be shown";
}

TEST_F(LoaderTest, TwoSpellingsWithDifferentValuesInYamlAreAnError) {
  EXPECT_FALSE(LoadWith("event:\n  queue:\n    kafka:\n      bootstrap_server: a:1\n"
                        "events:\n  queue:\n    kafka:\n      bootstrap_server: b:1\n",
                        {})
                   .ok());
  EXPECT_TRUE(HasProblem({"conflicting settings for event.queue.kafka.bootstrap_server",
                          "event.queue.kafka.bootstrap_server (", "config.yaml:4)",
                          "events.queue.kafka.bootstrap_server (", "config.yaml:8)"}))
      << Problems();
}

TEST_F(LoaderTest, TwoSpellingsWithDifferentValuesAcrossYamlAndEnvAreAnError) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_JWT_HTTP_HEADER"] = "X-Env";

  EXPECT_FALSE(LoadWith("callback_api:\n  auth:\n    jwt:\n      http_header: X-Yaml\n", env).ok());
  EXPECT_TRUE(HasProblem({"conflicting settings for callback_api.auth.jwt.http_header",
                          "config.yaml:4", "env CALLBACK_API_JWT_HTTP_HEADER"}))
      << Problems();
}

TEST_F(LoaderTest, ReadsSecretsFromFilesAndWatchesThem) {
  std::string seed_file = WriteFile("secrets/seed", std::string(kSeed) + "\n");
  WriteFile("secrets/callback", std::string(kJwtSecret) + "\r\n");
  std::map<std::string, std::string> env = MinimalEnv();
  env["SECRET_SEP10_SIGNING_SEED_FILE"] = seed_file;

  Result<LoadedConfig> loaded = LoadWith("callback_api:\n  secret_file: secrets/callback\n", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.signing_seed, kSeed);
  EXPECT_EQ(loaded->config.callback_api.secret, kJwtSecret);
  std::string callback_file = (dir_ / "secrets/callback").string();
  EXPECT_EQ(loaded->watched_files, (std::vector<std::string>{callback_file, seed_file}));
}

TEST_F(LoaderTest, SecretAndItsFileTogetherAreAnError) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_SECRET"] = kJwtSecret;
  env["CALLBACK_API_SECRET_FILE"] = WriteFile("secret", kJwtSecret);

  EXPECT_FALSE(LoadWith("", env).ok());
  EXPECT_TRUE(HasProblem({"conflicting settings for callback_api.secret",
                          "env CALLBACK_API_SECRET and env CALLBACK_API_SECRET_FILE are both set"}))
      << Problems();
}

TEST_F(LoaderTest, EnvSecretFileOverridesYamlSecret) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_SECRET_FILE"] = WriteFile("secret", "from-file\n");

  Result<LoadedConfig> loaded = LoadWith("callback_api:\n  secret: from-yaml\n", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.callback_api.secret, "from-file");
}

TEST_F(LoaderTest, MissingSecretFileIsAnError) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_SECRET_FILE"] = (dir_ / "nope").string();

  EXPECT_FALSE(LoadWith("", env).ok());
  EXPECT_TRUE(HasProblem({"reading secret file for env CALLBACK_API_SECRET_FILE", "nope"}))
      << Problems();
}

TEST_F(LoaderTest, ClientsFileIsRelativeToTheConfigFile) {
  WriteFile("clients/clients.yaml",
            "items:\n  - name: w\n    type: noncustodial\n    domains: [w.example]\n"
            "    ca_file: ca.pem\n");
  WriteFile("clients/ca.pem", "pem");

  Result<LoadedConfig> loaded =
      LoadWith("clients:\n  type: file\n  value: clients/clients.yaml\n", MinimalEnv());

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->config.clients.size(), 1u);
  EXPECT_EQ(loaded->config.clients[0].ca_file, (dir_ / "clients/ca.pem").string());
  EXPECT_EQ(loaded->watched_files,
            (std::vector<std::string>{(dir_ / "clients/clients.yaml").string(),
                                      (dir_ / "clients/ca.pem").string()}));
}

TEST_F(LoaderTest, ClientTlsFilesAndWebhookSecretsAreReadRelativeAndWatched) {
  WriteFile("clients/clients.yaml",
            "items:\n  - name: w\n    type: noncustodial\n    domains: [w.example]\n"
            "    standard_webhooks: true\n"
            "    client_cert_file: tls/w.crt\n    client_key_file: tls/w.key\n"
            "    webhook_secret_file: secrets/new\n"
            "    webhook_secret_previous_file: secrets/old\n");
  WriteFile("clients/tls/w.crt", "cert");
  WriteFile("clients/tls/w.key", "key");
  WriteFile("clients/secrets/new", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
  WriteFile("clients/secrets/old", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAAAAAAAA\n");
  WriteFile("ca.pem", "pem");
  WriteFile("api.crt", "cert");
  WriteFile("api.key", "key");
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_CA_FILE"] = (dir_ / "ca.pem").string();
  env["CALLBACK_API_CLIENT_CERT_FILE"] = (dir_ / "api.crt").string();
  env["CALLBACK_API_CLIENT_KEY_FILE"] = (dir_ / "api.key").string();

  Result<LoadedConfig> loaded =
      LoadWith("clients:\n  type: file\n  value: clients/clients.yaml\n", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const ClientConfig& client = loaded->config.clients.at(0);
  EXPECT_EQ(client.client_cert_file, (dir_ / "clients/tls/w.crt").string());
  EXPECT_EQ(client.client_key_file, (dir_ / "clients/tls/w.key").string());
  EXPECT_EQ(client.webhook_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(client.webhook_secret_previous, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAAAAAAAA");
  EXPECT_EQ(loaded->config.callback_api.client_cert_file, (dir_ / "api.crt").string());
  for (const char* file :
       {"clients/clients.yaml", "clients/tls/w.crt", "clients/tls/w.key", "clients/secrets/new",
        "clients/secrets/old", "ca.pem", "api.crt", "api.key"}) {
    EXPECT_NE(std::find(loaded->watched_files.begin(), loaded->watched_files.end(),
                        (dir_ / file).string()),
              loaded->watched_files.end())
        << file;
  }
  EXPECT_EQ(Describe(loaded->config).find("MfKQ9r8G"), std::string::npos);
}

TEST_F(LoaderTest, MaterialDigestHoldsTheLoadUntilTheFilesMatch) {
  std::string digest =
      MaterialDigest({{"webhook_secret_file", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}});
  WriteFile("clients/clients.yaml",
            "items:\n  - name: w\n    type: noncustodial\n    domains: [w.example]\n"
            "    standard_webhooks: true\n    webhook_secret_file: ../secrets/whsec-w\n"
            "    material_sha256: " +
                digest + "\n");
  // The Secret's old content: the operator's document names newer material.
  WriteFile("secrets/whsec-w", "whsec_c2VjcmV0LXRoYXQtaXMtbG9uZy1lbm91Z2gtMzI=");
  std::string config = "clients:\n  type: file\n  value: clients/clients.yaml\n";
  EXPECT_FALSE(LoadWith(config, MinimalEnv()).ok());
  EXPECT_TRUE(HasProblem({"material_sha256", "client 'w'", "retried"})) << Problems();
  EXPECT_EQ(Problems().find("c2VjcmV0"), std::string::npos);

  WriteFile("secrets/whsec-w", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  Result<LoadedConfig> loaded = LoadWith(config, MinimalEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.clients.at(0).material_sha256, digest);
}

TEST_F(LoaderTest, BadTlsAndWebhookSettingsAreReportedWithoutEchoingSecrets) {
  WriteFile("clients.yaml",
            "items:\n  - name: u\n    type: noncustodial\n    domains: [u.example]\n"
            "    client_cert_file: short\n    webhook_secret_file: short\n"
            "  - name: v\n    type: noncustodial\n    domains: [v.example]\n"
            "    webhook_secret: whsec_inline\n");
  WriteFile("short", "whsec_c2hvcnQtc2VjcmV0");
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_CLIENT_KEY_FILE"] = (dir_ / "clients.yaml").string();
  env["EVENT_PROCESSOR_CALLBACK_API_REQUEST_ENABLED"] = "true";
  env["CALLBACK_API_BASE_URL"] = "http://business.example:8081/callback";
  env["CALLBACK_API_AUTH_TYPE"] = "api_key";
  env["CALLBACK_API_SECRET"] = std::string(9000, 'k');

  EXPECT_FALSE(LoadWith("clients:\n  type: file\n  value: clients.yaml\n", env).ok());

  EXPECT_TRUE(HasProblem({"client 'u'", "must be set together"})) << Problems();
  EXPECT_TRUE(HasProblem({"client 'u'", "standard_webhooks: true"})) << Problems();
  EXPECT_TRUE(HasProblem({"webhook_secret", "never written in the clients file"})) << Problems();
  EXPECT_TRUE(HasProblem({"CALLBACK_API_CLIENT_KEY_FILE", "must be set together"})) << Problems();
  EXPECT_TRUE(HasProblem({"CALLBACK_API_SECRET", "longer than 8192 bytes"})) << Problems();
  EXPECT_EQ(Problems().find("kkkk"), std::string::npos);
}

TEST_F(LoaderTest, UnreadableClientFilesAndMalformedWebhookSecretsAreErrors) {
  WriteFile("clients.yaml",
            "items:\n  - name: w\n    type: noncustodial\n    domains: [w.example]\n"
            "    standard_webhooks: true\n"
            "    client_cert_file: missing.crt\n    client_key_file: short\n"
            "    webhook_secret_file: short\n");
  WriteFile("short", "whsec_c2hvcnQtc2VjcmV0");

  EXPECT_FALSE(LoadWith("clients:\n  type: file\n  value: clients.yaml\n", MinimalEnv()).ok());

  EXPECT_TRUE(HasProblem({"client_cert_file", "cannot read file", "missing.crt"})) << Problems();
  EXPECT_TRUE(HasProblem({"webhook_secret_file", "24 to 64 bytes"})) << Problems();
  EXPECT_EQ(Problems().find("c2hvcnQ"), std::string::npos);
}

TEST_F(LoaderTest, PreviousSigningSeedIsASecretThatMustDifferFromTheCurrent) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["SECRET_SEP10_SIGNING_SEED"] = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
  env["SECRET_SEP10_SIGNING_SEED_PREVIOUS_FILE"] =
      WriteFile("previous", "SBGM2CE3FD7ZNWU5W3BUN3ARJYHVXCRRT422XJRE3KGPN3KPXCTPXJAU\n");

  Result<LoadedConfig> rotating = LoadWith("", env);
  env.erase("SECRET_SEP10_SIGNING_SEED_PREVIOUS_FILE");
  env["SECRET_SEP10_SIGNING_SEED_PREVIOUS"] = env["SECRET_SEP10_SIGNING_SEED"];
  Result<LoadedConfig> same = LoadWith("", env);

  ASSERT_TRUE(rotating.ok()) << rotating.error().message;
  EXPECT_EQ(rotating->config.signing_seed_previous,
            "SBGM2CE3FD7ZNWU5W3BUN3ARJYHVXCRRT422XJRE3KGPN3KPXCTPXJAU");
  EXPECT_NE(Describe(rotating->config).find("secret.sep10.signing_seed_previous = <set>"),
            std::string::npos);
  EXPECT_FALSE(same.ok());
  EXPECT_TRUE(HasProblem({"SECRET_SEP10_SIGNING_SEED_PREVIOUS", "same seed"})) << Problems();
}

TEST_F(LoaderTest, InlineClientsAreReadFromTheConfigFile) {
  Result<LoadedConfig> loaded = LoadWith(
      "event_processor:\n  client_status_callback:\n    max_attempts: 5\n"
      "clients:\n  type: inline\n  items:\n    - name: w\n      type: custodial\n"
      "      signing_keys: [GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX]\n",
      MinimalEnv());

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->config.clients.size(), 1u);
  EXPECT_EQ(loaded->config.clients[0].type, ClientType::kCustodial);
  EXPECT_EQ(loaded->config.clients[0].lane.retry.max_attempts, 5);
}

TEST_F(LoaderTest, ClientsDocumentMayComeFromTheEnvironment) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CLIENTS_TYPE"] = "json";
  env["CLIENTS_VALUE"] =
      R"({"items": [{"name": "w", "type": "noncustodial", "domains": ["w.example"]}]})";

  Result<LoadedConfig> loaded = LoadWith("", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->config.clients.size(), 1u);
  EXPECT_EQ(loaded->config.clients[0].domains, std::vector<std::string>{"w.example"});
}

TEST_F(LoaderTest, ClientProblemsInAnEnvDocumentNameTheVariable) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CLIENTS_TYPE"] = "yaml";
  env["CLIENTS_VALUE"] = "items:\n  - name: w\n    type: noncustodial\n";

  EXPECT_FALSE(LoadWith("", env).ok());
  EXPECT_TRUE(HasProblem({"invalid domains for client 'w' (env CLIENTS_VALUE:2)"})) << Problems();
}

TEST_F(LoaderTest, ReportsEveryProblemAtOnce) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["EVENT_QUEUE_KAFKA_RETRIES"] = "many";

  Result<LoadedConfig> loaded = LoadWith(
      "event_processor:\n  client_status_callback:\n    enabled: yes\n"
      "callback_api:\n  base_url: http://user:pw@business.example/cb\n",
      env);

  EXPECT_FALSE(loaded.ok());
  ASSERT_EQ(errors_.problems.size(), 3u) << Problems();
  EXPECT_TRUE(HasProblem({"event_processor.client_status_callback.enabled", "config.yaml:3",
                          "must be true or false"}));
  EXPECT_TRUE(HasProblem({"callback_api.base_url", "config.yaml:5", "user information"}));
  EXPECT_TRUE(HasProblem({"env EVENT_QUEUE_KAFKA_RETRIES", "must be an integer"}));
  EXPECT_EQ(loaded.error().message, errors_.Joined());
  EXPECT_EQ(errors_.Joined().rfind("invalid configuration:\n  - ", 0), 0u);
}

TEST_F(LoaderTest, IgnoresUnknownEnvironmentVariables) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["EVENT_PROCESSOR_SOMETHING_ELSE"] = "x";
  env["SEP10_ENABLED"] = "yes";
  env["PATH"] = "/usr/bin";

  EXPECT_TRUE(LoadWith("", env).ok()) << Problems();
}

TEST_F(LoaderTest, EmptyEnvironmentVariableCountsAsUnset) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["EVENT_QUEUE_KAFKA_RETRIES"] = "";

  Result<LoadedConfig> loaded = LoadWith("event:\n  queue:\n    kafka:\n      retries: 4\n", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.kafka.retries, 4);
}

TEST_F(LoaderTest, ParsesListsAndMapsFromEnvAndYaml) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["EVENT_PROCESSOR_RESOLVE"] = "a.example:80:127.0.0.1, b.example:443:[::1]";
  env["EVENT_QUEUE_KAFKA_PROPERTIES"] = "socket.keepalive.enable=true,fetch.max.bytes=1000";
  Result<LoadedConfig> from_env = LoadWith("", env);
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;

  Result<LoadedConfig> from_yaml = LoadWith(
      "event_processor:\n  resolve:\n    - a.example:80:127.0.0.1\n    - b.example:443:[::1]\n"
      "event:\n  queue:\n    kafka:\n      properties:\n        socket.keepalive.enable: true\n"
      "        fetch.max.bytes: 1000\n",
      MinimalEnv());
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().message;

  EXPECT_EQ(from_env->config.resolve,
            (std::vector<std::string>{"a.example:80:127.0.0.1", "b.example:443:[::1]"}));
  EXPECT_EQ(from_env->config.kafka.properties.at("fetch.max.bytes"), "1000");
  EXPECT_EQ(from_yaml->config, from_env->config);
}

TEST_F(LoaderTest, UnreadableConfigFileIsAnError) {
  EXPECT_FALSE(Load(LoadInput{(dir_ / "missing.yaml").string(), MinimalEnv()}, &errors_).ok());
  EXPECT_TRUE(HasProblem({"reading config file for", "missing.yaml"})) << Problems();
}

TEST_F(LoaderTest, WarnsAboutMisspelledVariablesInItsOwnNamespaces) {
  std::map<std::string, std::string> env = testing::MinimalEnv();
  env["EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLE"] = "true";
  env["SPRING_PROFILES_ACTIVE"] = "default";

  Result<LoadedConfig> loaded = LoadWith("", env);

  ASSERT_TRUE(loaded.ok()) << Problems();
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_NE(loaded->warnings[0].find("EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLE "),
            std::string::npos);
}

}  // namespace
}  // namespace anchor_events::config
