// The typed, validated configuration snapshot of the processor (SPEC §7). A Config is
// immutable once loaded; a reload produces a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace anchor_events::config {

enum class AuthType { kNone, kApiKey, kJwt };
enum class ClientType { kCustodial, kNoncustodial };
enum class StartOffset { kLatest, kEarliest };

// How a lane retries a failed attempt (SPEC §6.3).
struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{2000};
  double multiplier = 2.0;
  double jitter = 0.2;  // +/- fraction applied to every backoff

  bool operator==(const RetryPolicy&) const = default;
};

// Delivery settings of one lane.
struct LaneOptions {
  RetryPolicy retry;
  int max_in_flight = 64;
  std::chrono::milliseconds request_timeout{10000};

  bool operator==(const LaneOptions&) const = default;
};

struct CallbackUrls {
  std::string sep6;
  std::string sep24;
  std::string sep31;
  std::string sep12;

  bool Any() const { return !sep6.empty() || !sep24.empty() || !sep31.empty() || !sep12.empty(); }
  bool operator==(const CallbackUrls&) const = default;
};

// One item of the clients file (SPEC §7.3) with this product's per-client extensions.
struct ClientConfig {
  std::string name;
  ClientType type = ClientType::kNoncustodial;
  std::vector<std::string> signing_keys;  // custodial: at least one G... account
  std::vector<std::string> domains;       // non-custodial: at least one
  CallbackUrls callback_urls;
  LaneOptions lane;                // defaults from event_processor.client_status_callback
  bool standard_webhooks = false;  // also send webhook-id/-timestamp/-signature
  std::vector<std::string> allowed_networks;  // CIDRs exempt from the SSRF guard
  // Files are written relative to the clients file and made absolute by the loader.
  std::string ca_file;           // CA bundle (PEM) for this client's HTTPS
  std::string client_cert_file;  // mTLS certificate (PEM), with client_key_file
  std::string client_key_file;   // mTLS key (PEM, unencrypted)
  // Standard Webhooks v1 (HMAC-SHA256) secrets, "whsec_<base64>". While the previous secret
  // is configured, webhook-signature carries a v1 signature with each (rotation).
  std::string webhook_secret_file;
  std::string webhook_secret_previous_file;
  // SHA-256 (hex) of the key material in the four files above, written by the operator: a load
  // whose files do not match it is refused and tried again when they change, so a revision is
  // only reported once the Secret holding them has been projected too.
  std::string material_sha256;
  std::string webhook_secret;           // the file's content, read by the loader; secret
  std::string webhook_secret_previous;  // likewise; secret

  bool operator==(const ClientConfig&) const = default;
};

struct KafkaConfig {
  std::string bootstrap_server;
  std::string client_id = "anchor-events";
  int retries = 1;
  int linger_ms = 5;
  int batch_size = 10000;        // messages per producer batch (librdkafka batch.num.messages)
  int poll_timeout_seconds = 1;  // longest a consumer poll may wait
  std::string topic = "TRANSACTION";
  std::string dead_letter_topic = "TRANSACTION_DLQ";
  std::string security_protocol = "PLAINTEXT";
  std::string sasl_mechanism;  // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
  std::string sasl_username;   // secret
  std::string sasl_password;   // secret
  std::string ssl_ca_location;
  std::string ssl_certificate_location;
  std::string ssl_key_location;
  std::string ssl_key_password;                   // secret
  std::map<std::string, std::string> properties;  // raw librdkafka properties

  bool operator==(const KafkaConfig&) const = default;
};

struct CallbackApiConfig {
  bool enabled = false;
  std::string base_url;
  AuthType auth_type = AuthType::kNone;
  std::string secret;  // API key or JWT HMAC key; secret
  std::string api_key_http_header = "X-Api-Key";
  std::string jwt_http_header = "Authorization";
  int64_t jwt_expiration_ms = 30000;
  bool check_certificate = true;
  std::string ca_file;
  std::string client_cert_file;  // mTLS, with client_key_file
  std::string client_key_file;
  bool ssrf_guard = false;  // the business server is usually private; opt in
  LaneOptions lane;         // defaults: 10 attempts, 1 s up to 300 s

  bool operator==(const CallbackApiConfig&) const = default;
};

struct Config {
  bool event_enabled = true;
  std::string queue_type = "kafka";
  KafkaConfig kafka;

  bool client_callbacks_enabled = false;
  LaneOptions client_lane_defaults;  // 3 attempts, 1 s then 2 s
  CallbackApiConfig callback_api;

  std::string signing_seed;  // SEP-10 seed S...; secret
  // The seed before a rotation; while set, webhook-signature also carries a v1a signature made
  // with it, so receivers can move to the new key at their pace. Secret.
  std::string signing_seed_previous;
  std::vector<ClientConfig> clients;
  // The clients document's `revision` (written by the operator), reported in /status.
  std::string clients_revision;

  std::string consumer_group_prefix = "anchor-events";
  std::string group_instance_id;  // static membership base id; empty: dynamic membership
  StartOffset new_lane_offset = StartOffset::kLatest;
  bool allow_private_destinations = false;
  int management_server_port = 9088;
  std::string management_server_address = "0.0.0.0";
  std::chrono::seconds shutdown_grace{20};
  std::string log_level = "info";
  int64_t max_event_bytes = 1 << 20;
  // "host:port:address" entries that pin a name to an address (development and tests); the
  // SSRF guard still applies to the pinned address.
  std::vector<std::string> resolve;

  bool operator==(const Config&) const = default;
};

// The files a client names, by clients-file key, in a fixed order: ca_file, client_cert_file,
// client_key_file, webhook_secret_file, webhook_secret_previous_file (empty ones included).
std::vector<std::pair<const char*, std::string*>> ClientFiles(ClientConfig& client);
std::vector<std::pair<const char*, const std::string*>> ClientFiles(const ClientConfig& client);

// The default lane options of each destination kind (SPEC §6.3).
LaneOptions DefaultClientLaneOptions();
LaneOptions DefaultCallbackApiLaneOptions();

}  // namespace anchor_events::config
