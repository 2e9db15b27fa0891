// One failing input per rule of SPEC §7.4, each checked for the key it names.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace anchor_events::config {
namespace {

using testing::MinimalEnv;

constexpr char kSeed[] = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
constexpr char kJwtSecret[] = "an-example-callback-secret-of-32-bytes-or-more";

class ValidationTest : public testing::ConfigTest {
 protected:
  // Loads MinimalEnv() plus `extra`; expects failure.
  bool Fails(std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> env = MinimalEnv();
    env.merge(extra);
    return !LoadWith("", env).ok();
  }

  bool Loads(std::map<std::string, std::string> extra) { return !Fails(std::move(extra)); }

  // Settings that make the business-server lane valid, for tests about one of them.
  std::map<std::string, std::string> CallbackApi(const std::string& auth,
                                                 const std::string& secret) {
    return {{"EVENT_PROCESSOR_CALLBACK_API_REQUEST_ENABLED", "true"},
            {"CALLBACK_API_BASE_URL", "http://business.example:8081/callback"},
            {"CALLBACK_API_AUTH_TYPE", auth},
            {"CALLBACK_API_SECRET", secret}};
  }
};

TEST_F(ValidationTest, RejectsBooleansOtherThanTrueAndFalse) {
  for (const char* text : {"yes", "1", "on", "True", "FALSE", "no"}) {
    EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS", text}})) << text;
    EXPECT_TRUE(
        HasProblem({"env EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS", "must be true or false"}))
        << Problems();
  }
  EXPECT_TRUE(Loads({{"EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS", "true"}})) << Problems();
}

TEST_F(ValidationTest, RejectsRawKafkaPropertiesCarryingKeyMaterial) {
  for (const char* property :
       {"ssl.key.pem=x", "sasl.jaas.config=x", "sasl.oauthbearer.config=x"}) {
    EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_PROPERTIES", property}})) << property;
    EXPECT_TRUE(HasProblem({"looks like secret material"})) << Problems();
  }
}

TEST_F(ValidationTest, RejectsADeadLetterTopicThatIsTheSourceTopic) {
  EXPECT_TRUE(Fails(
      {{"EVENT_QUEUE_KAFKA_TOPIC", "LOOP"}, {"EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC", "LOOP"}}));
  EXPECT_TRUE(HasProblem({"EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC", "must differ"})) << Problems();
}

TEST_F(ValidationTest, RejectsBootstrapServersThatAreNotHostPort) {
  for (const char* text : {"http://kafka:9092", "kafka", "kafka:abc", ":9092"}) {
    std::map<std::string, std::string> env = MinimalEnv();
    env["EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER"] = text;
    EXPECT_FALSE(LoadWith("", env).ok()) << text;
    EXPECT_TRUE(HasProblem({"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER", "host:port"})) << Problems();
  }
  std::map<std::string, std::string> env = MinimalEnv();
  env["EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER"] = "k1:9092,k2:9093,[::1]:9094";
  EXPECT_TRUE(LoadWith("", env).ok()) << Problems();
}

TEST_F(ValidationTest, RejectsYamlBooleanSpellingsWithLine) {
  EXPECT_FALSE(LoadWith("callback_api:\n  check_certificate: off\n", MinimalEnv()).ok());
  EXPECT_TRUE(HasProblem({"callback_api.check_certificate (", "config.yaml:2)", "'off'"}))
      << Problems();
}

TEST_F(ValidationTest, RejectsMalformedUrls) {
  EXPECT_TRUE(Fails({{"CALLBACK_API_BASE_URL", "business.example/callback"}}));
  EXPECT_TRUE(HasProblem({"env CALLBACK_API_BASE_URL", "absolute"})) << Problems();
  EXPECT_TRUE(Fails({{"CALLBACK_API_BASE_URL", "ftp://business.example/"}}));
  EXPECT_TRUE(Fails({{"CALLBACK_API_BASE_URL", "http://business.example:99999/"}}));
}

TEST_F(ValidationTest, RejectsUrlsWithUserinfo) {
  EXPECT_TRUE(Fails({{"CALLBACK_API_BASE_URL", "https://user:pw@business.example/"}}));
  EXPECT_TRUE(HasProblem({"env CALLBACK_API_BASE_URL", "user information"})) << Problems();
}

TEST_F(ValidationTest, RejectsHeaderNamesThatAreNotTokens) {
  EXPECT_TRUE(Fails({{"CALLBACK_API_API_KEY_HTTP_HEADER", "X Api Key"}}));
  EXPECT_TRUE(HasProblem({"env CALLBACK_API_API_KEY_HTTP_HEADER", "RFC 7230"})) << Problems();
  EXPECT_TRUE(Fails({{"CALLBACK_API_JWT_HTTP_HEADER", "Authorization:"}}));
}

TEST_F(ValidationTest, RejectsCrOrLfInHeaderValuesAndNames) {
  EXPECT_TRUE(Fails(CallbackApi("api_key", "key\r\nX-Evil: 1")));
  EXPECT_TRUE(HasProblem({"env CALLBACK_API_SECRET", "control characters"})) << Problems();
  EXPECT_EQ(Problems().find("X-Evil"), std::string::npos) << "secret values must not be shown";
  EXPECT_TRUE(Fails({{"CALLBACK_API_AUTH_JWT_HTTP_HEADER", "Authorization\r\nX: y"}}));
}

TEST_F(ValidationTest, RejectsABadSeedWithoutShowingIt) {
  EXPECT_TRUE(Fails(
      {{"SECRET_SEP10_SIGNING_SEED", "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNA"}}));
  EXPECT_TRUE(HasProblem({"env SECRET_SEP10_SIGNING_SEED", "checksum mismatch"})) << Problems();
  EXPECT_EQ(Problems().find("SCOWDMM"), std::string::npos);
  EXPECT_TRUE(Fails(
      {{"SECRET_SEP10_SIGNING_SEED", "GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR"}}));
  EXPECT_TRUE(HasProblem({"must be a secret seed (S...)"})) << Problems();
}

TEST_F(ValidationTest, RequiresTheSeedWhenClientCallbacksAreOn) {
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED", "true"}}));
  EXPECT_TRUE(HasProblem(
      {"missing setting for secret.sep10.signing_seed", "SECRET_SEP10_SIGNING_SEED_FILE"}))
      << Problems();
  EXPECT_TRUE(Loads({{"EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED", "true"},
                     {"SECRET_SEP10_SIGNING_SEED", kSeed}}))
      << Problems();
}

TEST_F(ValidationTest, RejectsAWeakJwtSecret) {
  EXPECT_TRUE(Fails(CallbackApi("jwt", std::string(31, 'k'))));
  EXPECT_TRUE(HasProblem({"env CALLBACK_API_SECRET", "at least 32 bytes, got 31"})) << Problems();
  EXPECT_TRUE(Loads(CallbackApi("jwt", std::string(32, 'k')))) << Problems();
}

TEST_F(ValidationTest, RequiresASecretForApiKeyAndJwtAuth) {
  std::map<std::string, std::string> api_key = CallbackApi("api_key", "");
  EXPECT_TRUE(Fails(api_key));
  EXPECT_TRUE(HasProblem({"missing setting for callback_api.secret", "api_key"})) << Problems();
  EXPECT_TRUE(Fails(CallbackApi("jwt", "")));
  EXPECT_TRUE(Loads(CallbackApi("none", ""))) << Problems();
}

TEST_F(ValidationTest, AcceptsThePlatformsUpperCaseAuthType) {
  std::map<std::string, std::string> env = MinimalEnv();
  env.merge(CallbackApi("JWT", kJwtSecret));
  Result<LoadedConfig> loaded = LoadWith("", env);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.callback_api.auth_type, AuthType::kJwt);
}

TEST_F(ValidationTest, RequiresABaseUrlWhenTheCallbackApiIsOn) {
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_CALLBACK_API_REQUEST_ENABLED", "true"}}));
  EXPECT_TRUE(HasProblem({"missing setting for callback_api.base_url",
                          "event_processor.callback_api_request.enabled is true"}))
      << Problems();
}

TEST_F(ValidationTest, RequiresBrokersWhenEventsAreOn) {
  EXPECT_FALSE(LoadWith("", {}).ok());
  EXPECT_TRUE(HasProblem({"missing setting for event.queue.kafka.bootstrap_server"})) << Problems();
  EXPECT_TRUE(LoadWith("", {{"EVENT_ENABLED", "false"}}).ok()) << Problems();
}

TEST_F(ValidationTest, RejectsOutOfRangeNumbers) {
  const std::pair<const char*, const char*> cases[] = {
      {"CALLBACK_API_JWT_EXPIRATION_MILLISECONDS", "4999"},
      {"EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_MAX_ATTEMPTS", "0"},
      {"EVENT_PROCESSOR_CALLBACK_API_REQUEST_INITIAL_BACKOFF_MS", "0"},
      {"EVENT_PROCESSOR_CALLBACK_API_REQUEST_MAX_IN_FLIGHT", "0"},
      {"EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_MAX_IN_FLIGHT", "10001"},
      {"EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT", "65536"},
      {"EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT", "-1"},
      {"EVENT_QUEUE_KAFKA_RETRIES", "-1"},
      {"EVENT_PROCESSOR_MAX_EVENT_BYTES", "99999999999999999999"},
  };
  for (const auto& [name, value] : cases) {
    EXPECT_TRUE(Fails({{name, value}})) << name;
    EXPECT_TRUE(HasProblem({std::string("env ") + name, "must be an integer from"})) << Problems();
  }
  EXPECT_TRUE(Loads({{"EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT", "0"}})) << Problems();
}

TEST_F(ValidationTest, RejectsEnvValuesThatDoNotParse) {
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_LINGER_MS", "5ms"}}));
  EXPECT_TRUE(HasProblem({"env EVENT_QUEUE_KAFKA_LINGER_MS", "got '5ms'"})) << Problems();
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_PROPERTIES", "fetch.max.bytes"}}));
  EXPECT_TRUE(HasProblem({"env EVENT_QUEUE_KAFKA_PROPERTIES", "KEY=VALUE"})) << Problems();
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_RESOLVE", "a.example:80:127.0.0.1,,"}}));
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_NEW_LANE_OFFSET", "beginning"}}));
  EXPECT_TRUE(HasProblem({"must be one of latest, earliest"})) << Problems();
}

TEST_F(ValidationTest, RejectsMaxBackoffBelowInitialBackoff) {
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_INITIAL_BACKOFF_MS", "5000"}}));
  EXPECT_TRUE(
      HasProblem({"invalid setting for event_processor.client_status_callback."
                  "max_backoff_ms (default)",
                  "at least event_processor.client_status_callback.initial_backoff_ms"}))
      << Problems();
}

TEST_F(ValidationTest, RejectsQueueTypesOtherThanKafka) {
  EXPECT_TRUE(Fails({{"EVENTS_QUEUE_TYPE", "sqs"}}));
  EXPECT_TRUE(HasProblem({"env EVENTS_QUEUE_TYPE", "got 'sqs'", "consumes Kafka only"}))
      << Problems();
}

TEST_F(ValidationTest, ChecksKafkaSecurityCombinations) {
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"}}));
  EXPECT_TRUE(HasProblem({"missing setting for event.queue.kafka.sasl_mechanism"})) << Problems();
  EXPECT_TRUE(HasProblem({"missing setting for event.queue.kafka.sasl_password"})) << Problems();
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_SASL_MECHANISM", "PLAIN"}}));
  EXPECT_TRUE(HasProblem({"env EVENT_QUEUE_KAFKA_SASL_MECHANISM", "only used when"})) << Problems();
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_SASL_MECHANISM", "GSSAPI"}}));
  EXPECT_TRUE(Loads({{"EVENT_QUEUE_KAFKA_SECURITY_PROTOCOL", "sasl_ssl"},
                     {"EVENT_QUEUE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"},
                     {"SECRET_EVENTS_QUEUE_KAFKA_USERNAME", "user"},
                     {"EVENT_QUEUE_KAFKA_SASL_PASSWORD", "pw"}}))
      << Problems();
}

TEST_F(ValidationTest, RequiresReadableFilesForPaths) {
  EXPECT_TRUE(Fails({{"CALLBACK_API_CA_FILE", (dir_ / "missing.pem").string()}}));
  EXPECT_TRUE(HasProblem({"env CALLBACK_API_CA_FILE", "cannot read file"})) << Problems();
  EXPECT_TRUE(Loads({{"CALLBACK_API_CA_FILE", WriteFile("ca.pem", "pem")}})) << Problems();
}

TEST_F(ValidationTest, RejectsManagedAndSecretKafkaProperties) {
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_PROPERTIES", "enable.auto.commit=true"}}));
  EXPECT_TRUE(HasProblem({"managed by anchor-events"})) << Problems();
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_PROPERTIES", "ssl.keystore.password=x"}}));
  EXPECT_TRUE(HasProblem({"looks like secret material"})) << Problems();
}

TEST_F(ValidationTest, RejectsBadGroupPrefixTopicsAndPins) {
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX", "anchor events"}}));
  EXPECT_TRUE(Fails({{"EVENT_QUEUE_KAFKA_TOPIC", "TRANSACTION/x"}}));
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_RESOLVE", "a.example:80:not-an-ip"}}));
  EXPECT_TRUE(Fails({{"EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS", "0.0.0.0:9088"}}));
}

}  // namespace
}  // namespace anchor_events::config
