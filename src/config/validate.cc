#include "config/validate.h"

#include <filesystem>
#include <fstream>

#include "config/checks.h"

namespace anchor_events::config {
namespace {

constexpr size_t kMinJwtSecretBytes = 32;
constexpr std::string_view kKafka = "event.queue.kafka.";

class Checker {
 public:
  Checker(const ResolvedSettings& resolved, std::vector<std::string>* problems)
      : resolved_(resolved), problems_(problems) {}

  // `condition` is the setting whose value makes `path` required.
  void Require(bool present, const std::string& path, const std::string& condition,
               const std::string& when) {
    if (!present && !resolved_.Failed(path) && !resolved_.Failed(condition)) {
      std::string env = EnvName(path);
      problems_->push_back("missing setting for " + path + ": required when " + when +
                           "; hint: set " + env +
                           (SettingAt(path).secret() ? ", " + env + "_FILE" : std::string()) +
                           " or " + path + " in the YAML file");
    }
  }

  void Invalid(const std::string& path, const std::string& cause, const std::string& related = "") {
    if (resolved_.Failed(path) || (!related.empty() && resolved_.Failed(related))) {
      return;
    }
    problems_->push_back("invalid setting for " + resolved_.Where(path) + ": " + cause);
  }

 private:
  const ResolvedSettings& resolved_;
  std::vector<std::string>* problems_;
};

std::string Kafka(std::string_view name) { return std::string(kKafka) + std::string(name); }

void CheckKafkaSasl(const KafkaConfig& kafka, Checker* check) {
  bool sasl = kafka.security_protocol.rfind("SASL_", 0) == 0;
  std::string protocol = Kafka("security_protocol");
  std::string when = protocol + " is " + kafka.security_protocol;
  if (sasl) {
    check->Require(!kafka.sasl_mechanism.empty(), Kafka("sasl_mechanism"), protocol, when);
    check->Require(!kafka.sasl_username.empty(), Kafka("sasl_username"), protocol, when);
    check->Require(!kafka.sasl_password.empty(), Kafka("sasl_password"), protocol, when);
    return;
  }
  const std::pair<const char*, const std::string*> sasl_only[] = {
      {"sasl_mechanism", &kafka.sasl_mechanism},
      {"sasl_username", &kafka.sasl_username},
      {"sasl_password", &kafka.sasl_password}};
  for (const auto& [name, value] : sasl_only) {
    if (!value->empty()) {
      check->Invalid(Kafka(name),
                     "only used when security_protocol is SASL_PLAINTEXT or SASL_SSL, but it is " +
                         kafka.security_protocol,
                     Kafka("security_protocol"));
    }
  }
}

void CheckKafkaSsl(const KafkaConfig& kafka, Checker* check) {
  bool tls = kafka.security_protocol == "SSL" || kafka.security_protocol == "SASL_SSL";
  const std::pair<const char*, const std::string*> tls_only[] = {
      {"ssl_ca_location", &kafka.ssl_ca_location},
      {"ssl_certificate_location", &kafka.ssl_certificate_location},
      {"ssl_key_location", &kafka.ssl_key_location},
      {"ssl_key_password", &kafka.ssl_key_password}};
  for (const auto& [name, value] : tls_only) {
    if (!tls && !value->empty()) {
      check->Invalid(Kafka(name),
                     "only used when security_protocol is SSL or SASL_SSL, but it is " +
                         kafka.security_protocol,
                     Kafka("security_protocol"));
    }
  }
  if (kafka.ssl_certificate_location.empty() != kafka.ssl_key_location.empty()) {
    check->Invalid(
        Kafka(kafka.ssl_key_location.empty() ? "ssl_certificate_location" : "ssl_key_location"),
        "ssl_certificate_location and ssl_key_location must be set together");
  }
  if (!kafka.ssl_key_password.empty() && kafka.ssl_key_location.empty()) {
    check->Invalid(Kafka("ssl_key_password"), "set without ssl_key_location");
  }
}

void CheckCallbackApi(const CallbackApiConfig& api, Checker* check) {
  if (!api.enabled) {
    return;
  }
  std::string enabled = "event_processor.callback_api_request.enabled";
  check->Require(!api.base_url.empty(), "callback_api.base_url", enabled, enabled + " is true");
  if (api.auth_type == AuthType::kNone) {
    return;
  }
  std::string when = std::string("callback_api.auth.type is ") +
                     (api.auth_type == AuthType::kJwt ? "jwt" : "api_key");
  check->Require(!api.secret.empty(), "callback_api.secret", "callback_api.auth.type", when);
  if (api.auth_type == AuthType::kApiKey) {
    // The API key is sent as a header value as it is written.
    if (std::string cause = HeaderValueProblem(api.secret); !cause.empty()) {
      check->Invalid("callback_api.secret", "an API key " + cause, "callback_api.auth.type");
    }
  }
  if (api.auth_type == AuthType::kJwt && !api.secret.empty() &&
      api.secret.size() < kMinJwtSecretBytes) {
    check->Invalid("callback_api.secret",
                   "a JWT secret must be at least 32 bytes, got " +
                       std::to_string(api.secret.size()) +
                       "; hint: generate one with `openssl rand -base64 48`",
                   "callback_api.auth.type");
  }
}

void CheckCallbackApiTls(const CallbackApiConfig& api, Checker* check) {
  if (api.client_cert_file.empty() != api.client_key_file.empty()) {
    check->Invalid(api.client_cert_file.empty() ? "callback_api.client_key_file"
                                                : "callback_api.client_cert_file",
                   "callback_api.client_cert_file and callback_api.client_key_file must be set "
                   "together");
  }
}

void CheckLaneOrder(const LaneOptions& lane, const std::string& prefix, Checker* check) {
  if (lane.retry.max_backoff < lane.retry.initial_backoff) {
    check->Invalid(prefix + ".max_backoff_ms",
                   "must be at least " + prefix + ".initial_backoff_ms (" +
                       std::to_string(lane.retry.initial_backoff.count()) + "), got " +
                       std::to_string(lane.retry.max_backoff.count()),
                   prefix + ".initial_backoff_ms");
  }
}

void CheckReadableFiles(const Config& config, Checker* check) {
  for (const Setting& setting : Settings()) {
    if (setting.type != SettingType::kPath || !setting.get) {
      continue;
    }
    std::string path = std::get<std::string>(setting.get(config));
    std::error_code error;
    if (!path.empty() &&
        (!std::filesystem::is_regular_file(path, error) || !std::ifstream(path).good())) {
      check->Invalid(setting.path, "cannot read file " + path);
    }
  }
}

}  // namespace

void ValidateConfig(const Config& config, const ResolvedSettings& resolved,
                    std::vector<std::string>* problems) {
  Checker check(resolved, problems);
  if (config.event_enabled) {
    check.Require(!config.kafka.bootstrap_server.empty(), Kafka("bootstrap_server"),
                  "event.enabled", "event.enabled is true");
  }
  CheckKafkaSasl(config.kafka, &check);
  CheckKafkaSsl(config.kafka, &check);
  if (config.kafka.dead_letter_topic == config.kafka.topic) {
    // Dead letters would be consumed again as events: a poison record would loop forever.
    check.Invalid(Kafka("dead_letter_topic"),
                  "must differ from event.queue.kafka.topic (" + config.kafka.topic + ")",
                  Kafka("topic"));
  }
  if (config.client_callbacks_enabled) {
    std::string enabled = "event_processor.client_status_callback.enabled";
    check.Require(!config.signing_seed.empty(), "secret.sep10.signing_seed", enabled,
                  enabled + " is true");
  }
  CheckCallbackApi(config.callback_api, &check);
  CheckCallbackApiTls(config.callback_api, &check);
  if (!config.signing_seed_previous.empty() &&
      config.signing_seed_previous == config.signing_seed) {
    check.Invalid("secret.sep10.signing_seed_previous",
                  "is the same seed as secret.sep10.signing_seed; hint: during a rotation it "
                  "holds the seed being replaced, afterwards unset it");
  }
  CheckLaneOrder(config.client_lane_defaults, "event_processor.client_status_callback", &check);
  CheckLaneOrder(config.callback_api.lane, "event_processor.callback_api_request", &check);
  CheckReadableFiles(config, &check);
}

}  // namespace anchor_events::config
