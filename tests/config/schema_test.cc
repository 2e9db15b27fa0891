#include "config/schema.h"

#include <set>

#include <gtest/gtest.h>

#include "config/loader.h"
#include "config_test_util.h"

namespace anchor_events::config {
namespace {

using testing::MinimalEnv;

TEST(SchemaTest, EnvNameUpperCasesAndReplacesDotsAndDashes) {
  EXPECT_EQ(EnvName("event.queue.kafka.bootstrap_server"), "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER");
  EXPECT_EQ(EnvName("a-b.c"), "A_B_C");
}

TEST(SchemaTest, EverySpellingOfEverySettingIsFoundByItsEnvName) {
  for (const Setting& setting : Settings()) {
    std::optional<Spelling> found = TryFindByEnv(EnvName(setting.path));

    ASSERT_TRUE(found.has_value()) << setting.path;
    EXPECT_EQ(found->setting, &setting);
    EXPECT_FALSE(setting.description.empty()) << setting.path;
    for (const std::string& alias : setting.aliases) {
      EXPECT_EQ(TryFindByEnv(EnvName(alias))->setting, &setting) << alias;
      EXPECT_EQ(TryFindByPath(alias)->setting, &setting) << alias;
    }
  }
}

TEST(SchemaTest, AcceptsTheSpellingsOfTheSpecNamesTable) {
  const std::pair<const char*, const char*> names[] = {
      {"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER", "event.queue.kafka.bootstrap_server"},
      {"EVENTS_QUEUE_KAFKA_BOOTSTRAP_SERVER", "event.queue.kafka.bootstrap_server"},
      {"EVENTS_ENABLED", "event.enabled"},
      {"EVENTS_QUEUE_TYPE", "event.queue.type"},
      {"CALLBACK_API_SECRET", "callback_api.secret"},
      {"SECRET_CALLBACK_API_AUTH_SECRET", "callback_api.secret"},
      {"CALLBACK_API_JWT_EXPIRATION_MILLISECONDS", "callback_api.auth.jwt.expiration_milliseconds"},
      {"CALLBACK_API_AUTH_JWT_EXPIRATION_MILLISECONDS",
       "callback_api.auth.jwt.expiration_milliseconds"},
      {"CALLBACK_API_JWT_HTTP_HEADER", "callback_api.auth.jwt.http_header"},
      {"CALLBACK_API_AUTH_JWT_HTTP_HEADER", "callback_api.auth.jwt.http_header"},
      {"CALLBACK_API_API_KEY_HTTP_HEADER", "callback_api.auth.api_key.http_header"},
      {"CALLBACK_API_AUTH_API_KEY_HTTP_HEADER", "callback_api.auth.api_key.http_header"},
      {"SECRET_SEP10_SIGNING_SEED", "secret.sep10.signing_seed"},
      {"EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS", "event_processor.allow_private_destinations"},
  };
  for (const auto& [env, path] : names) {
    std::optional<Spelling> found = TryFindByEnv(env);

    ASSERT_TRUE(found.has_value()) << env;
    EXPECT_EQ(found->setting->path, path) << env;
    EXPECT_FALSE(found->file);
  }
}

TEST(SchemaTest, OnlySecretsHaveFileVariants) {
  EXPECT_TRUE(TryFindByEnv("SECRET_SEP10_SIGNING_SEED_FILE")->file);
  EXPECT_TRUE(TryFindByEnv("CALLBACK_API_SECRET_FILE")->file);
  EXPECT_TRUE(TryFindByEnv("EVENTS_QUEUE_KAFKA_SASL_PASSWORD_FILE")->file);
  EXPECT_TRUE(TryFindByPath("secret.callback_api.auth_secret_file")->file);
  EXPECT_FALSE(TryFindByEnv("CALLBACK_API_BASE_URL_FILE").has_value());
}

TEST(SchemaTest, DefaultsMatchTheConfigStructAndTheSpec) {
  Result<LoadedConfig> loaded = Load(LoadInput{"", MinimalEnv()}, nullptr);

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  Config expected;
  expected.kafka.bootstrap_server = "localhost:9092";
  expected.client_lane_defaults = DefaultClientLaneOptions();
  expected.callback_api.lane = DefaultCallbackApiLaneOptions();
  EXPECT_EQ(loaded->config, expected);
  EXPECT_EQ(loaded->config.callback_api.lane.retry.max_attempts, 10);
  EXPECT_EQ(loaded->config.callback_api.lane.retry.max_backoff.count(), 300000);
  EXPECT_EQ(loaded->config.client_lane_defaults.retry.max_attempts, 3);
  EXPECT_EQ(loaded->config.management_server_port, 9088);
  EXPECT_EQ(loaded->config.shutdown_grace.count(), 20);
  EXPECT_TRUE(loaded->watched_files.empty());
}

TEST(SchemaTest, DescribeShowsEveryDocumentedDefault) {
  Config defaults;
  defaults.callback_api.lane = DefaultCallbackApiLaneOptions();
  std::string text = Describe(defaults);

  for (const Setting& setting : Settings()) {
    if (!setting.get) {
      continue;
    }
    std::string shown = setting.secret()               ? " <unset>"
                        : setting.default_text.empty() ? ""
                                                       : " " + setting.default_text;
    EXPECT_NE(text.find(setting.path + " =" + shown + "\n"), std::string::npos) << setting.path;
  }
}

TEST(SchemaTest, DescribeRedactsSecretsAndIsStable) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CALLBACK_API_SECRET"] = "an-example-callback-secret-of-32-bytes-or-more";
  env["SECRET_SEP10_SIGNING_SEED"] = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
  Result<LoadedConfig> first = Load(LoadInput{"", env}, nullptr);
  Result<LoadedConfig> second = Load(LoadInput{"", env}, nullptr);

  ASSERT_TRUE(first.ok()) << first.error().message;
  std::string text = Describe(first->config);
  EXPECT_EQ(text.find("an-example-callback-secret"), std::string::npos);
  EXPECT_EQ(text.find("SCOWDMM"), std::string::npos);
  EXPECT_NE(text.find("callback_api.secret = <set>\n"), std::string::npos);
  EXPECT_NE(text.find("secret.sep10.signing_seed = <set>\n"), std::string::npos);
  EXPECT_NE(text.find("event.queue.kafka.sasl_password = <unset>\n"), std::string::npos);
  EXPECT_EQ(text, Describe(second->config));
}

}  // namespace
}  // namespace anchor_events::config
