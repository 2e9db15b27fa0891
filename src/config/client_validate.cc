// The rules one client must meet (SPEC §7.3, §7.4), shared with the operator's validation of
// CallbackClient resources.
#include <set>

#include "base/url.h"
#include "config/checks.h"
#include "config/clients_parse.h"
#include "config/loader.h"
#include "config/schema.h"

namespace anchor_events::config {
namespace {

constexpr size_t kMaxClientName = 200;

void Problem(const std::string& field, const std::string& where, const std::string& cause,
             std::vector<std::string>* problems) {
  problems->push_back("invalid " + field + " for " + where + ": " + cause);
}

void CheckRange(const std::string& name, int64_t value, const std::string& where,
                std::vector<std::string>* problems) {
  const Setting& setting = SettingAt("event_processor.client_status_callback." + name);
  if (value < setting.min || value > setting.max) {
    Problem(name, where,
            "must be from " + std::to_string(setting.min) + " to " + std::to_string(setting.max) +
                ", got " + std::to_string(value),
            problems);
  }
}

void CheckKeysAndDomains(const ClientConfig& client, const std::string& where,
                         std::vector<std::string>* problems) {
  bool custodial = client.type == ClientType::kCustodial;
  if (custodial && client.signing_keys.empty()) {
    Problem("signing_keys", where, "a custodial client needs at least one G... account", problems);
  }
  if (!custodial && client.domains.empty()) {
    Problem("domains", where, "a noncustodial client needs at least one domain", problems);
  }
  if (!custodial && !client.signing_keys.empty()) {
    Problem("signing_keys", where, "only custodial clients have signing keys", problems);
  }
  if (custodial && !client.domains.empty()) {
    Problem("domains", where, "only noncustodial clients are matched by domain", problems);
  }
  for (size_t i = 0; i < client.signing_keys.size(); ++i) {
    const std::string& key = client.signing_keys[i];
    if (std::string cause = StrkeyProblem(key, kAccountIdVersion); !cause.empty()) {
      // The value is not repeated: a mistake here is often a pasted secret seed.
      bool seed = StrkeyProblem(key, kSeedVersion).empty();
      Problem("signing_keys[" + std::to_string(i) + "]", where,
              seed ? "is a secret seed (S...); use the client's public account (G...) and keep "
                     "the seed secret"
                   : "is not a Stellar account id: " + cause,
              problems);
    }
  }
  std::set<std::string> seen;
  for (const std::string& domain : client.domains) {
    if (std::string cause = DomainProblem(domain); !cause.empty()) {
      Problem("domains", where, cause, problems);
    } else if (!seen.insert(domain).second) {
      Problem("domains", where, "'" + domain + "' is listed twice", problems);
    }
  }
}

void CheckCallbackUrls(const CallbackUrls& urls, const std::string& where,
                       std::vector<std::string>* problems) {
  const std::pair<const char*, const std::string*> all[] = {
      {"sep6", &urls.sep6}, {"sep24", &urls.sep24}, {"sep31", &urls.sep31}, {"sep12", &urls.sep12}};
  for (const auto& [name, url] : all) {
    if (url->empty()) {
      continue;
    }
    if (Result<Url> parsed = ParseUrl(*url); !parsed.ok()) {
      Problem(std::string("callback_urls.") + name, where, parsed.error().message, problems);
    }
  }
}

void CheckFiles(const ClientConfig& client, const std::string& where,
                std::vector<std::string>* problems) {
  for (const auto& [name, path] : ClientFiles(client)) {
    if (HasControlCharacter(*path)) {
      Problem(name, where, "must not contain control characters", problems);
    }
  }
  if (!client.material_sha256.empty() &&
      (client.material_sha256.size() != 64 ||
       client.material_sha256.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    Problem("material_sha256", where, "must be 64 lower-case hexadecimal digits", problems);
  }
  if (client.client_cert_file.empty() != client.client_key_file.empty()) {
    Problem(client.client_cert_file.empty() ? "client_key_file" : "client_cert_file", where,
            "client_cert_file and client_key_file must be set together", problems);
  }
  if (!client.webhook_secret_file.empty() && !client.standard_webhooks) {
    Problem("webhook_secret_file", where,
            "is only used with standard_webhooks: true; hint: set standard_webhooks", problems);
  }
  if (!client.webhook_secret_previous_file.empty() && client.webhook_secret_file.empty()) {
    Problem("webhook_secret_previous_file", where,
            "is only used during a rotation, next to webhook_secret_file", problems);
  }
}

}  // namespace

void ValidateLane(const LaneOptions& lane, const std::string& where,
                  std::vector<std::string>* problems) {
  CheckRange("max_attempts", lane.retry.max_attempts, where, problems);
  CheckRange("initial_backoff_ms", lane.retry.initial_backoff.count(), where, problems);
  CheckRange("max_backoff_ms", lane.retry.max_backoff.count(), where, problems);
  CheckRange("max_in_flight", lane.max_in_flight, where, problems);
  CheckRange("request_timeout_ms", lane.request_timeout.count(), where, problems);
  if (lane.retry.max_backoff < lane.retry.initial_backoff) {
    Problem("max_backoff_ms", where,
            "must be at least initial_backoff_ms (" +
                std::to_string(lane.retry.initial_backoff.count()) + "), got " +
                std::to_string(lane.retry.max_backoff.count()),
            problems);
  }
}

void ValidateClient(const ClientConfig& client, const std::string& where,
                    std::vector<std::string>* problems) {
  if (client.name.empty()) {
    Problem("name", where, "is required", problems);
  } else if (std::string cause = KafkaNameProblem(client.name, kMaxClientName); !cause.empty()) {
    Problem("name", where, cause + " (it becomes part of a Kafka consumer group id)", problems);
  } else if (client.name == "callback-api") {
    Problem("name", where, "'callback-api' is reserved for the business server's lane", problems);
  }
  CheckKeysAndDomains(client, where, problems);
  CheckCallbackUrls(client.callback_urls, where, problems);
  ValidateLane(client.lane, where, problems);
  for (const std::string& network : client.allowed_networks) {
    if (std::string cause = CidrProblem(network); !cause.empty()) {
      Problem("allowed_networks", where, cause, problems);
    }
  }
  CheckFiles(client, where, problems);
}

}  // namespace anchor_events::config
