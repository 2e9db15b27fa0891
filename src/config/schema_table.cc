// The settings of the processor, the business-server destination, secrets and clients. The
// event queue settings are in schema_kafka.cc.
#include "config/checks.h"
#include "config/schema.h"
#include "config/schema_binding.h"

namespace anchor_events::config {

namespace binding {

void Assign(AuthType* out, const Value& v) {
  const std::string& text = std::get<std::string>(v);
  *out = text == "jwt" ? AuthType::kJwt : text == "api_key" ? AuthType::kApiKey : AuthType::kNone;
}

void Assign(StartOffset* out, const Value& v) {
  *out = std::get<std::string>(v) == "earliest" ? StartOffset::kEarliest : StartOffset::kLatest;
}

Value ToValue(AuthType v) {
  return std::string(v == AuthType::kJwt ? "jwt" : v == AuthType::kApiKey ? "api_key" : "none");
}

Value ToValue(StartOffset v) {
  return std::string(v == StartOffset::kEarliest ? "earliest" : "latest");
}

}  // namespace binding

namespace {

using binding::Bind;
using binding::EnumRow;
using binding::IntRow;
using binding::Row;
using binding::WithAliases;
using binding::WithCheck;

std::string CheckListenAddress(const Value& value) {
  const std::string& text = std::get<std::string>(value);
  if (IsIpLiteral(text) || HostNameProblem(text).empty()) {
    return "";
  }
  return "'" + text + "' is not an IP address or host name";
}

std::string CheckResolveEntries(const Value& value) {
  for (const std::string& entry : std::get<std::vector<std::string>>(value)) {
    if (std::string problem = ResolveEntryProblem(entry); !problem.empty()) {
      return problem;
    }
  }
  return "";
}

std::string CheckSeed(const Value& value) {
  const std::string& text = std::get<std::string>(value);
  std::string problem = text.empty() ? "" : StrkeyProblem(text, kSeedVersion);
  return problem.empty() ? "" : "not a valid Stellar secret seed: " + problem;
}

// The delivery options of one lane kind; `lane` picks the LaneOptions out of a Config.
template <typename Lane>
void AddLaneRows(const std::string& prefix, const std::string& who, const LaneOptions& defaults,
                 Lane lane, std::vector<Setting>* rows) {
  rows->push_back(Bind(
      IntRow(prefix + ".max_attempts", 1, 1000, defaults.retry.max_attempts,
             "Attempts per event to " + who + " before it is dead-lettered."),
      [lane](auto& c) -> auto& { return lane(c).retry.max_attempts; }));
  rows->push_back(Bind(
      IntRow(prefix + ".initial_backoff_ms", 1, 86400000, defaults.retry.initial_backoff.count(),
             "Wait before the second attempt to " + who + ", in ms; doubles per attempt."),
      [lane](auto& c) -> auto& { return lane(c).retry.initial_backoff; }));
  rows->push_back(Bind(
      IntRow(prefix + ".max_backoff_ms", 1, 86400000, defaults.retry.max_backoff.count(),
             "Longest wait between attempts to " + who + ", in ms."),
      [lane](auto& c) -> auto& { return lane(c).retry.max_backoff; }));
  rows->push_back(Bind(
      IntRow(prefix + ".max_in_flight", 1, 10000, defaults.max_in_flight,
             "Most requests in flight at once on the lane to " + who + "."),
      [lane](auto& c) -> auto& { return lane(c).max_in_flight; }));
  rows->push_back(Bind(
      IntRow(prefix + ".request_timeout_ms", 1, 600000, defaults.request_timeout.count(),
             "Deadline of one request to " + who + " (connect, TLS, write and read), in ms."),
      [lane](auto& c) -> auto& { return lane(c).request_timeout; }));
}

void AddProcessorRows(std::vector<Setting>* rows) {
  const std::string client = "event_processor.client_status_callback";
  rows->push_back(Bind(
      Row(client + ".enabled", SettingType::kBool, "false",
          "Deliver signed status callbacks to client applications (wallets)."),
      [](auto& c) -> auto& { return c.client_callbacks_enabled; }));
  AddLaneRows(
      client, "a client", DefaultClientLaneOptions(),
      [](auto& c) -> auto& { return c.client_lane_defaults; }, rows);
  const std::string api = "event_processor.callback_api_request";
  rows->push_back(Bind(
      Row(api + ".enabled", SettingType::kBool, "false",
          "Deliver every event to the business server (callback API)."),
      [](auto& c) -> auto& { return c.callback_api.enabled; }));
  AddLaneRows(
      api, "the business server", DefaultCallbackApiLaneOptions(),
      [](auto& c) -> auto& { return c.callback_api.lane; }, rows);
  rows->push_back(Bind(
      WithCheck(Row("event_processor.consumer_group_prefix", SettingType::kString, "anchor-events",
                    "Prefix of the consumer group ids (<prefix>-callback-api, "
                    "<prefix>-client-<name>)."),
                [](const Value& v) { return KafkaNameProblem(std::get<std::string>(v), 100); }),
      [](auto& c) -> auto& { return c.consumer_group_prefix; }));
  rows->push_back(Bind(
      WithCheck(Row("event_processor.group_instance_id", SettingType::kString, "",
                    "Static group membership: when set (for example to the pod name), each "
                    "lane joins as <value>-<lane>, so a restart within the session timeout "
                    "keeps its partitions without a rebalance."),
                [](const Value& v) {
                  const auto& text = std::get<std::string>(v);
                  return text.empty() ? std::string() : KafkaNameProblem(text, 100);
                }),
      [](auto& c) -> auto& { return c.group_instance_id; }));
  rows->push_back(Bind(
      EnumRow("event_processor.new_lane_offset", {"latest", "earliest"}, "latest",
              "Where a lane with no committed offset starts reading."),
      [](auto& c) -> auto& { return c.new_lane_offset; }));
  rows->push_back(Bind(
      Row("event_processor.allow_private_destinations", SettingType::kBool, "false",
          "Turn the SSRF guard off for all destinations (development only)."),
      [](auto& c) -> auto& { return c.allow_private_destinations; }));
  rows->push_back(Bind(
      IntRow("event_processor.management_server_port", 0, 65535, 9088,
             "Port of /metrics, /livez, /readyz and /status; 0 picks a free one."),
      [](auto& c) -> auto& { return c.management_server_port; }));
  rows->push_back(Bind(
      WithCheck(Row("event_processor.management_server_address", SettingType::kString, "0.0.0.0",
                    "Address the management server listens on."),
                CheckListenAddress),
      [](auto& c) -> auto& { return c.management_server_address; }));
  rows->push_back(Bind(
      IntRow("event_processor.shutdown_grace_seconds", 0, 3600, 20,
             "On SIGTERM, how long in-flight attempts may finish, in seconds."),
      [](auto& c) -> auto& { return c.shutdown_grace; }));
  rows->push_back(Bind(
      EnumRow("event_processor.log_level", {"trace", "debug", "info", "warn", "error"}, "info",
              "Lowest level of log lines written."),
      [](auto& c) -> auto& { return c.log_level; }));
  rows->push_back(Bind(
      IntRow("event_processor.max_event_bytes", 1024, 104857600, 1 << 20,
             "Largest event record accepted; larger ones are dead-lettered."),
      [](auto& c) -> auto& { return c.max_event_bytes; }));
  rows->push_back(Bind(
      WithCheck(Row("event_processor.resolve", SettingType::kStringList, "",
                    "host:port:address pins for outbound requests (development "
                    "and tests); the SSRF guard still applies."),
                CheckResolveEntries),
      [](auto& c) -> auto& { return c.resolve; }));
}

void AddCallbackApiRows(std::vector<Setting>* rows) {
  rows->push_back(Bind(
      Row("callback_api.base_url", SettingType::kUrl, "",
          "Business server URL; events are POSTed to <base_url>/event."),
      [](auto& c) -> auto& { return c.callback_api.base_url; }));
  rows->push_back(Bind(
      Row("callback_api.check_certificate", SettingType::kBool, "true",
          "Verify the business server's TLS certificate."),
      [](auto& c) -> auto& { return c.callback_api.check_certificate; }));
  rows->push_back(Bind(
      Row("callback_api.ca_file", SettingType::kPath, "",
          "Extra CA bundle (PEM) for the business server's certificate."),
      [](auto& c) -> auto& { return c.callback_api.ca_file; }));
  rows->push_back(Bind(
      Row("callback_api.client_cert_file", SettingType::kPath, "",
          "Client certificate (PEM) presented to the business server (mTLS); with "
          "client_key_file. Re-read when it changes."),
      [](auto& c) -> auto& { return c.callback_api.client_cert_file; }));
  rows->push_back(Bind(
      Row("callback_api.client_key_file", SettingType::kPath, "",
          "Unencrypted PEM key of callback_api.client_cert_file."),
      [](auto& c) -> auto& { return c.callback_api.client_key_file; }));
  rows->push_back(Bind(
      Row("callback_api.ssrf_guard", SettingType::kBool, "false",
          "Apply the SSRF guard to the business server (usually private)."),
      [](auto& c) -> auto& { return c.callback_api.ssrf_guard; }));
  rows->push_back(Bind(
      EnumRow("callback_api.auth.type", {"none", "api_key", "jwt"}, "none",
              "How requests to the business server are authenticated."),
      [](auto& c) -> auto& { return c.callback_api.auth_type; }));
  rows->push_back(Bind(
      WithAliases(Row("callback_api.secret", SettingType::kSecret, "",
                      "API key, or JWT HMAC key of at least 32 bytes."),
                  {"secret.callback_api.auth_secret"}),
      [](auto& c) -> auto& { return c.callback_api.secret; }));
  rows->push_back(Bind(
      WithAliases(IntRow("callback_api.auth.jwt.expiration_milliseconds", 5000, 86400000, 30000,
                         "Lifetime of each JWT, in ms."),
                  {"callback_api.jwt.expiration_milliseconds"}),
      [](auto& c) -> auto& { return c.callback_api.jwt_expiration_ms; }));
  rows->push_back(Bind(
      WithAliases(Row("callback_api.auth.jwt.http_header", SettingType::kHeaderName,
                      "Authorization", "Header carrying \"Bearer <jwt>\"."),
                  {"callback_api.jwt.http_header"}),
      [](auto& c) -> auto& { return c.callback_api.jwt_http_header; }));
  rows->push_back(Bind(
      WithAliases(Row("callback_api.auth.api_key.http_header", SettingType::kHeaderName,
                      "X-Api-Key", "Header carrying the API key."),
                  {"callback_api.api_key.http_header"}),
      [](auto& c) -> auto& { return c.callback_api.api_key_http_header; }));
}

void AddSecretAndClientRows(std::vector<Setting>* rows) {
  rows->push_back(Bind(
      WithCheck(Row("secret.sep10.signing_seed", SettingType::kSecret, "",
                    "The anchor's SEP-10 seed (S...); signs client callbacks."),
                CheckSeed),
      [](auto& c) -> auto& { return c.signing_seed; }));
  rows->push_back(Bind(
      WithCheck(Row("secret.sep10.signing_seed_previous", SettingType::kSecret, "",
                    "During a key rotation, the seed being replaced: webhook-signature also "
                    "carries a v1a signature made with it. Unset it when receivers moved."),
                CheckSeed),
      [](auto& c) -> auto& { return c.signing_seed_previous; }));
  rows->push_back(EnumRow("clients.type", {"file", "inline", "yaml", "json"}, "file",
                          "How clients.value is read: a file path, clients.items, or a "
                          "YAML/JSON document."));
  rows->push_back(Row("clients.value", SettingType::kDocument, "",
                      "The clients file path (relative to the config file), or the document "
                      "itself; empty: no clients."));
  rows->push_back(Row("clients.items", SettingType::kClientItems, "",
                      "The client items when clients.type is inline (YAML only)."));
}

}  // namespace

std::vector<Setting> BuildSettingsTable() {
  std::vector<Setting> rows;
  AddProcessorRows(&rows);
  std::vector<Setting> kafka = KafkaSettingsTable();
  rows.insert(rows.end(), kafka.begin(), kafka.end());
  AddCallbackApiRows(&rows);
  AddSecretAndClientRows(&rows);
  return rows;
}

}  // namespace anchor_events::config
