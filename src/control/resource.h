// A CallbackClient resource (SPEC §10) as the operator reads it from the API server: identity,
// the spec as a clients-file item, and the status it last wrote.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/result.h"

namespace anchor_events::control {

inline constexpr std::string_view kGroup = "anchor-events.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kKind = "CallbackClient";
inline constexpr std::string_view kPlural = "callbackclients";

struct SecretRef {
  std::string name;
  std::string key;
};

// Key material a resource takes from a Secret of its namespace: the clients-file field that
// will name the copied file, and where the value comes from.
struct SecretUse {
  std::string field;  // client_cert_file, client_key_file, webhook_secret_file, ...
  SecretRef ref;
};

// The Ready condition as stored in a resource's status.
struct ReadyCondition {
  std::string status;  // "True", "False", "Unknown"; empty when absent
  std::string reason;
  std::string message;
  int64_t observed_generation = 0;
  std::string last_transition_time;
};

struct ResourceStatus {
  int64_t observed_generation = 0;
  std::string client_name;
  std::string consumer_group;
  std::optional<int64_t> config_generation;
  ReadyCondition ready;
};

struct CallbackClient {
  std::string ns;
  std::string name;
  std::string uid;
  std::string resource_version;
  std::string creation_timestamp;  // RFC 3339, sorts as text
  int64_t generation = 0;

  // The effective client name: spec.name, or metadata.name.
  std::string client_name;
  // The spec as one clients-file item (snake_case keys in a fixed order, without ca_file), and
  // the problems found while converting it (unknown fields, wrong types).
  YAML::Node item;
  std::vector<std::string> spec_problems;
  std::optional<SecretRef> ca_secret;  // copied into the ConfigMap (not secret)
  std::vector<SecretUse> secret_uses;  // copied into the client-secrets Secret

  ResourceStatus status;

  // "namespace/name", the key the operator indexes resources by.
  std::string Key() const { return ns + "/" + name; }
};

// Parses one CallbackClient object (the JSON of a list item or a watch event's object). Spec
// problems do not fail the parse: they are kept in spec_problems and reported in the status.
Result<CallbackClient> ParseCallbackClient(std::string_view json);

// The API path of a namespace's CallbackClients, or of one of them.
std::string CallbackClientsPath(const std::string& ns);
std::string CallbackClientPath(const std::string& ns, const std::string& name);

}  // namespace anchor_events::control
