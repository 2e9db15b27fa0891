// The event queue settings (event.*; every one is also accepted as events.*).
#include <algorithm>

#include "config/checks.h"
#include "config/schema.h"
#include "config/schema_binding.h"
#include "config/value.h"

namespace anchor_events::config {
namespace {

using binding::Bind;
using binding::EnumRow;
using binding::IntRow;
using binding::kInt32Max;
using binding::Row;
using binding::WithAliases;
using binding::WithCheck;

constexpr std::string_view kKafka = "event.queue.kafka.";

// Raw properties may not take over what the service manages itself, nor carry secrets (they
// are shown by check-config).
std::string CheckProperties(const Value& value) {
  static const std::vector<std::string> kManaged = {
      "bootstrap.servers", "group.id",       "enable.auto.commit", "enable.auto.offset.store",
      "security.protocol", "sasl.mechanism", "sasl.mechanisms",    "sasl.username"};
  for (const auto& [key, item] : std::get<std::map<std::string, std::string>>(value)) {
    if (std::string problem = KafkaNameProblem(key, 200); !problem.empty()) {
      return "property name " + problem;
    }
    if (std::find(kManaged.begin(), kManaged.end(), key) != kManaged.end()) {
      return "property '" + key + "' is managed by anchor-events; use its own setting";
    }
    for (const char* secret_like : {"password", "secret", ".pem", "jaas", "oauthbearer"}) {
      if (key.find(secret_like) != std::string::npos) {
        return "property '" + key +
               "' looks like secret material; use the dedicated secret and *_location settings";
      }
    }
  }
  return "";
}

std::string CheckBootstrapServers(const Value& value) {
  Result<std::vector<std::string>> servers = SplitList(std::get<std::string>(value));
  if (!servers.ok()) {
    return servers.error().message;
  }
  for (const std::string& server : *servers) {
    if (server.find_first_of(" \t") != std::string::npos) {
      return "'" + server + "' contains a space; separate servers with commas";
    }
    size_t colon = server.rfind(':');
    bool port_ok = colon != std::string::npos && colon > 0 && colon + 1 < server.size() &&
                   server.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    if (server.find("://") != std::string::npos || !port_ok) {
      return "each entry must be host:port (got '" + server + "')";
    }
  }
  return "";
}

std::string CheckTopic(const Value& value) {
  return KafkaNameProblem(std::get<std::string>(value), 249);
}

std::string Key(std::string_view name) { return std::string(kKafka) + std::string(name); }

void AddConnectionRows(std::vector<Setting>* rows) {
  rows->push_back(Bind(
      WithCheck(Row(Key("bootstrap_server"), SettingType::kString, "",
                    "Kafka brokers, host:port separated by commas; required "
                    "when event.enabled."),
                CheckBootstrapServers),
      [](auto& c) -> auto& { return c.kafka.bootstrap_server; }));
  rows->push_back(Bind(
      Row(Key("client_id"), SettingType::kString, "anchor-events",
          "Kafka client.id of the consumers and producers."),
      [](auto& c) -> auto& { return c.kafka.client_id; }));
  rows->push_back(Bind(
      IntRow(Key("retries"), 0, kInt32Max, 1,
             "Send retries of the service's own producers (dead letters)."),
      [](auto& c) -> auto& { return c.kafka.retries; }));
  rows->push_back(Bind(
      IntRow(Key("linger_ms"), 0, 900000, 5, "How long the producers wait to fill a batch, in ms."),
      [](auto& c) -> auto& { return c.kafka.linger_ms; }));
  rows->push_back(Bind(
      IntRow(Key("batch_size"), 1, 1000000, 10000,
             "Messages per producer batch (librdkafka batch.num.messages)."),
      [](auto& c) -> auto& { return c.kafka.batch_size; }));
  rows->push_back(Bind(
      IntRow(Key("poll_timeout_seconds"), 1, 300, 1,
             "Longest a consumer poll may wait, in seconds."),
      [](auto& c) -> auto& { return c.kafka.poll_timeout_seconds; }));
  rows->push_back(Bind(
      WithCheck(Row(Key("topic"), SettingType::kString, "TRANSACTION",
                    "Topic the Platform publishes events to."),
                CheckTopic),
      [](auto& c) -> auto& { return c.kafka.topic; }));
  rows->push_back(Bind(
      WithCheck(Row(Key("dead_letter_topic"), SettingType::kString, "TRANSACTION_DLQ",
                    "Topic dead letters are written to."),
                CheckTopic),
      [](auto& c) -> auto& { return c.kafka.dead_letter_topic; }));
}

void AddSecurityRows(std::vector<Setting>* rows) {
  rows->push_back(Bind(
      EnumRow(Key("security_protocol"), {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"},
              "PLAINTEXT", "How the service connects to the brokers."),
      [](auto& c) -> auto& { return c.kafka.security_protocol; }));
  rows->push_back(Bind(
      EnumRow(Key("sasl_mechanism"), {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}, "",
              "SASL mechanism; required with SASL_PLAINTEXT and SASL_SSL."),
      [](auto& c) -> auto& { return c.kafka.sasl_mechanism; }));
  rows->push_back(Bind(
      WithAliases(Row(Key("sasl_username"), SettingType::kSecret, "", "SASL user name."),
                  {"secret.events.queue.kafka.username"}),
      [](auto& c) -> auto& { return c.kafka.sasl_username; }));
  rows->push_back(Bind(
      WithAliases(Row(Key("sasl_password"), SettingType::kSecret, "", "SASL password."),
                  {"secret.events.queue.kafka.password"}),
      [](auto& c) -> auto& { return c.kafka.sasl_password; }));
  rows->push_back(Bind(
      Row(Key("ssl_ca_location"), SettingType::kPath, "",
          "CA bundle (PEM) to verify the brokers; system CAs when empty."),
      [](auto& c) -> auto& { return c.kafka.ssl_ca_location; }));
  rows->push_back(Bind(
      Row(Key("ssl_certificate_location"), SettingType::kPath, "",
          "Client certificate (PEM) for mutual TLS."),
      [](auto& c) -> auto& { return c.kafka.ssl_certificate_location; }));
  rows->push_back(Bind(
      Row(Key("ssl_key_location"), SettingType::kPath, "",
          "Client private key (PEM) for mutual TLS."),
      [](auto& c) -> auto& { return c.kafka.ssl_key_location; }));
  rows->push_back(Bind(
      Row(Key("ssl_key_password"), SettingType::kSecret, "", "Password of the client private key."),
      [](auto& c) -> auto& { return c.kafka.ssl_key_password; }));
  rows->push_back(Bind(
      WithCheck(Row(Key("properties"), SettingType::kStringMap, "",
                    "Raw librdkafka properties for anything else (env: "
                    "KEY=VALUE pairs separated by commas)."),
                CheckProperties),
      [](auto& c) -> auto& { return c.kafka.properties; }));
}

}  // namespace

std::vector<Setting> KafkaSettingsTable() {
  std::vector<Setting> rows;
  rows.push_back(Bind(
      Row("event.enabled", SettingType::kBool, "true",
          "Consume events from the queue; when false the Kafka settings are not required."),
      [](auto& c) -> auto& { return c.event_enabled; }));
  rows.push_back(Bind(
      WithCheck(EnumRow("event.queue.type", {"kafka"}, "kafka",
                        "Event queue kind; only kafka is supported."),
                nullptr,
                "anchor-events consumes Kafka only (for Amazon MSK use kafka "
                "with security_protocol SASL_SSL)"),
      [](auto& c) -> auto& { return c.queue_type; }));
  AddConnectionRows(&rows);
  AddSecurityRows(&rows);
  return rows;
}

}  // namespace anchor_events::config
