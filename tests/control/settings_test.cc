#include "control/settings.h"

#include <gtest/gtest.h>

namespace anchor_events::control {
namespace {

using Env = std::map<std::string, std::string>;

TEST(SettingsTest, DefaultsNeedOnlyAWayToReachTheProcessor) {
  Result<Settings> settings =
      LoadSettings({{"OPERATOR_PROCESSOR_SERVICE", "anchor-events"}}, "payments", "pod-1");
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->ns, "payments");
  EXPECT_EQ(settings->watch_namespaces, std::vector<std::string>{"payments"});
  EXPECT_EQ(settings->identity, "pod-1");
  EXPECT_EQ(settings->clients_configmap, "anchor-events-clients");
  EXPECT_EQ(settings->clients_key, "clients.yaml");
  EXPECT_TRUE(settings->leader_election);
  EXPECT_EQ(settings->lease_duration.count(), 15);
  EXPECT_EQ(settings->management_port, 9089);
}

TEST(SettingsTest, EveryValueIsRead) {
  Env env = {{"OPERATOR_NAMESPACE", "ops"},
             {"OPERATOR_WATCH_NAMESPACES", "b, a ,b"},
             {"OPERATOR_IDENTITY", "me"},
             {"OPERATOR_CLIENTS_CONFIGMAP", "clients"},
             {"OPERATOR_CLIENTS_KEY", "clients.json"},
             {"OPERATOR_LEADER_ELECTION", "false"},
             {"OPERATOR_LEASE_DURATION_SECONDS", "5"},
             {"OPERATOR_PROCESSOR_URLS", "http://127.0.0.1:9088,http://[::1]:9088"},
             {"OPERATOR_MANAGEMENT_SERVER_PORT", "0"},
             {"OPERATOR_RESYNC_SECONDS", "3"},
             {"OPERATOR_OWNER_DEPLOYMENT", "anchor-events-operator"},
             {"OPERATOR_LOG_LEVEL", "debug"}};
  Result<Settings> settings = LoadSettings(env, "", "host");
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->ns, "ops");
  EXPECT_EQ(settings->watch_namespaces, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(settings->processor_urls.size(), 2u);
  EXPECT_FALSE(settings->leader_election);
  EXPECT_EQ(settings->resync.count(), 3);
  EXPECT_EQ(settings->owner_deployment, "anchor-events-operator");
}

TEST(SettingsTest, EveryProblemIsReportedAtOnce) {
  Env env = {{"OPERATOR_NAMESPACE", "Bad_NS"},
             {"OPERATOR_LEASE_DURATION_SECONDS", "1"},
             {"OPERATOR_LEADER_ELECTION", "yes"},
             {"OPERATOR_PROCESSOR_URLS", "http://user@127.0.0.1:1/path"},
             {"OPERATOR_CLIENTS_KEY", "ca-clients.yaml"},
             {"OPERATOR_LOG_LEVEL", "loud"},
             {"OPERATOR_RESYNC", "3"}};
  Result<Settings> settings = LoadSettings(env, "", "host");
  ASSERT_FALSE(settings.ok());
  const std::string& text = settings.error().message;
  for (const char* name :
       {"OPERATOR_NAMESPACE", "OPERATOR_LEASE_DURATION_SECONDS", "OPERATOR_LEADER_ELECTION",
        "OPERATOR_PROCESSOR_URLS", "OPERATOR_CLIENTS_KEY", "OPERATOR_LOG_LEVEL",
        "unknown setting OPERATOR_RESYNC"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << " missing from:\n" << text;
  }
}

TEST(SettingsTest, WithoutAProcessorNothingCouldBecomeReady) {
  Result<Settings> settings = LoadSettings({}, "default", "host");
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("OPERATOR_PROCESSOR_SERVICE"), std::string::npos);
}

}  // namespace
}  // namespace anchor_events::control
