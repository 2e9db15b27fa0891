#include "kafka/client_config.h"

#include <utility>
#include <vector>

#include "ops/log.h"

namespace anchor_events::kafka {
namespace {

// librdkafka's own log lines (connection failures and the like) as rate-limited JSON warnings,
// instead of its plain-text default on stderr.
void OnClientLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  static ops::RateLimiter limiter(std::chrono::seconds(10));
  int64_t suppressed = 0;
  if (!limiter.Allow(&suppressed)) {
    return;
  }
  ops::Log().Log(level <= 3 ? ops::LogLevel::kWarn : ops::LogLevel::kDebug, "kafka client log",
                 {{"client", rd_kafka_name(rk)},
                  {"facility", facility},
                  {"error", message},
                  {"suppressed", suppressed}});
}

}  // namespace

Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
      RD_KAFKA_CONF_OK) {
    return Error{"invalid Kafka property for " + name + ": " + error};
  }
  return {};
}

Result<ConfPtr> BaseConf(const config::KafkaConfig& kafka) {
  ConfPtr conf(rd_kafka_conf_new());
  std::vector<std::pair<std::string, std::string>> properties = {
      {"bootstrap.servers", kafka.bootstrap_server},
      {"client.id", kafka.client_id},
      {"security.protocol", kafka.security_protocol},
      // Quiet by default; librdkafka's own errors still reach the error callback.
      {"log_level", "3"},
  };
  auto add_if_set = [&](const char* name, const std::string& value) {
    if (!value.empty()) {
      properties.emplace_back(name, value);
    }
  };
  add_if_set("sasl.mechanisms", kafka.sasl_mechanism);
  add_if_set("sasl.username", kafka.sasl_username);
  add_if_set("sasl.password", kafka.sasl_password);
  add_if_set("ssl.ca.location", kafka.ssl_ca_location);
  add_if_set("ssl.certificate.location", kafka.ssl_certificate_location);
  add_if_set("ssl.key.location", kafka.ssl_key_location);
  add_if_set("ssl.key.password", kafka.ssl_key_password);
  for (const auto& [name, value] : kafka.properties) {
    properties.emplace_back(name, value);
  }
  std::string problems;
  for (const auto& [name, value] : properties) {
    if (Status status = SetProperty(conf.get(), name, value); !status.ok()) {
      problems += (problems.empty() ? "" : "; ") + status.error().message;
    }
  }
  if (!problems.empty()) {
    return Error{problems};
  }
  rd_kafka_conf_set_log_cb(conf.get(), OnClientLog);
  return conf;
}

}  // namespace anchor_events::kafka
