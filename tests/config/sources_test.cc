// The YAML file's structure rules: unknown and duplicate keys, sections, nulls, parse errors.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace anchor_events::config {
namespace {

using testing::MinimalEnv;

using YamlSourceTest = testing::ConfigTest;

TEST_F(YamlSourceTest, UnknownTopLevelKeyIsAnErrorWithFileAndLine) {
  EXPECT_FALSE(LoadWith("event:\n  enabled: true\nsep10:\n  enabled: true\n", MinimalEnv()).ok());
  EXPECT_TRUE(HasProblem({"unknown key for sep10 (", "config.yaml:3)"})) << Problems();
}

TEST_F(YamlSourceTest, UnknownNestedKeyIsAnErrorWithAHint) {
  EXPECT_FALSE(
      LoadWith("callback_api:\n  auth:\n    jwt:\n      expiration_ms: 9000\n", MinimalEnv()).ok());
  EXPECT_TRUE(
      HasProblem({"unknown key for callback_api.auth.jwt.expiration_ms (", "config.yaml:4)"}))
      << Problems();
}

TEST_F(YamlSourceTest, SuggestsTheSettingWithTheSameLastName) {
  EXPECT_FALSE(LoadWith("event:\n  linger_ms: 3\n", MinimalEnv()).ok());
  EXPECT_TRUE(
      HasProblem({"unknown key for event.linger_ms", "did you mean event.queue.kafka.linger_ms?"}))
      << Problems();
}

TEST_F(YamlSourceTest, DuplicateKeyIsAnErrorNamingBothLines) {
  EXPECT_FALSE(LoadWith("event:\n  enabled: true\n  queue:\n    type: kafka\n  enabled: false\n",
                        MinimalEnv())
                   .ok());
  EXPECT_TRUE(HasProblem(
      {"duplicate key for event.enabled (", "config.yaml:5)", "already written at line 2"}))
      << Problems();
}

TEST_F(YamlSourceTest, DuplicateTopLevelSectionIsAnError) {
  EXPECT_FALSE(LoadWith("event:\n  enabled: true\nevent:\n  enabled: false\n", MinimalEnv()).ok());
  EXPECT_TRUE(HasProblem({"duplicate key for event (", "config.yaml:3)"})) << Problems();
}

TEST_F(YamlSourceTest, DuplicateKeyInsideAMapSettingIsAnError) {
  EXPECT_FALSE(LoadWith("event:\n  queue:\n    kafka:\n      properties:\n"
                        "        fetch.max.bytes: 1\n        fetch.max.bytes: 2\n",
                        MinimalEnv())
                   .ok());
  EXPECT_TRUE(HasProblem(
      {"duplicate key for event.queue.kafka.properties.fetch.max.bytes", "config.yaml:6"}))
      << Problems();
}

TEST_F(YamlSourceTest, SectionWrittenAsAValueIsAnError) {
  EXPECT_FALSE(LoadWith("callback_api: http://business.example\n", MinimalEnv()).ok());
  EXPECT_TRUE(HasProblem({"invalid section for callback_api (", "expected a mapping"}))
      << Problems();
}

TEST_F(YamlSourceTest, SettingWrittenAsAMappingIsAnError) {
  EXPECT_FALSE(LoadWith("callback_api:\n  base_url:\n    host: x\n", MinimalEnv()).ok());
  EXPECT_TRUE(HasProblem(
      {"invalid setting for callback_api.base_url (", "config.yaml:2)", "expected a single value"}))
      << Problems();
}

TEST_F(YamlSourceTest, NullValuesLeaveTheDefault) {
  Result<LoadedConfig> loaded =
      LoadWith("callback_api:\n  base_url:\n  auth:\nclients:\n  value: ~\n", MinimalEnv());

  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->config.callback_api.base_url, "");
}

TEST_F(YamlSourceTest, SyntaxErrorNamesFileAndLine) {
  EXPECT_FALSE(LoadWith("event:\n  enabled: [true\n  queue: x\n", MinimalEnv()).ok());
  ASSERT_EQ(errors_.problems.size(), 1u) << Problems();
  EXPECT_NE(errors_.problems[0].find("parsing YAML for "), std::string::npos);
  EXPECT_NE(errors_.problems[0].find("config.yaml:"), std::string::npos);
}

TEST_F(YamlSourceTest, TopLevelMustBeAMapping) {
  EXPECT_FALSE(LoadWith("- a\n- b\n", MinimalEnv()).ok());
  EXPECT_TRUE(HasProblem({"the top level must be a mapping"})) << Problems();
}

TEST_F(YamlSourceTest, EmptyFileIsAllDefaults) {
  EXPECT_TRUE(LoadWith("# nothing\n", MinimalEnv()).ok()) << Problems();
}

TEST_F(YamlSourceTest, ClientItemsCannotComeFromTheEnvironment) {
  std::map<std::string, std::string> env = MinimalEnv();
  env["CLIENTS_ITEMS"] = "x";

  EXPECT_FALSE(LoadWith("", env).ok());
  EXPECT_TRUE(HasProblem({"env CLIENTS_ITEMS", "only be written in the YAML file"})) << Problems();
}

}  // namespace
}  // namespace anchor_events::config
