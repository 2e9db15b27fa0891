#include "control/resource.h"

#include <map>

#include "control/json_util.h"
#include "kube/client.h"

namespace anchor_events::control {
namespace {

enum class Kind { kString, kBool, kInt, kStringList };

struct SpecField {
  const char* spec_name;
  const char* item_name;
  Kind kind;
};

// spec fields in the order they are written into the clients file (docs/kubernetes.md has the
// same table for people). name, type, callbackUrls and caSecretRef are handled on their own.
constexpr SpecField kSpecFields[] = {
    {"signingKeys", "signing_keys", Kind::kStringList},
    {"domains", "domains", Kind::kStringList},
    {"maxAttempts", "max_attempts", Kind::kInt},
    {"initialBackoffMs", "initial_backoff_ms", Kind::kInt},
    {"maxBackoffMs", "max_backoff_ms", Kind::kInt},
    {"maxInFlight", "max_in_flight", Kind::kInt},
    {"requestTimeoutMs", "request_timeout_ms", Kind::kInt},
    {"standardWebhooks", "standard_webhooks", Kind::kBool},
    {"allowedNetworks", "allowed_networks", Kind::kStringList},
};

constexpr const char* kCallbackUrlKeys[] = {"sep6", "sep24", "sep31", "sep12"};

// Accepted and ignored, as the Platform does with its clients file.
bool IsIgnoredSpecField(std::string_view name) {
  return name == "allowAnyDestination" || name == "destinationAccounts";
}

std::string Text(const rapidjson::Value& value) {
  return std::string(value.GetString(), value.GetStringLength());
}

void ConvertField(const SpecField& field, const rapidjson::Value& value, CallbackClient* client) {
  std::string where = std::string("spec.") + field.spec_name;
  switch (field.kind) {
    case Kind::kString:
      if (!value.IsString()) {
        client->spec_problems.push_back(where + " must be a string");
        return;
      }
      client->item[field.item_name] = Text(value);
      return;
    case Kind::kBool:
      if (!value.IsBool()) {
        client->spec_problems.push_back(where + " must be true or false");
        return;
      }
      client->item[field.item_name] = value.GetBool();
      return;
    case Kind::kInt:
      if (!value.IsInt64()) {
        client->spec_problems.push_back(where + " must be an integer");
        return;
      }
      client->item[field.item_name] = value.GetInt64();
      return;
    case Kind::kStringList: {
      if (!value.IsArray()) {
        client->spec_problems.push_back(where + " must be a list of strings");
        return;
      }
      YAML::Node list(YAML::NodeType::Sequence);
      for (const auto& entry : value.GetArray()) {
        if (!entry.IsString()) {
          client->spec_problems.push_back(where + " must be a list of strings");
          return;
        }
        list.push_back(Text(entry));
      }
      client->item[field.item_name] = list;
      return;
    }
  }
}

void ConvertCallbackUrls(const rapidjson::Value& urls, CallbackClient* client) {
  if (!urls.IsObject()) {
    client->spec_problems.push_back("spec.callbackUrls must be an object");
    return;
  }
  YAML::Node out(YAML::NodeType::Map);
  for (const char* key : kCallbackUrlKeys) {
    const rapidjson::Value* url = Member(urls, key);
    if (!url) {
      continue;
    }
    if (!url->IsString()) {
      client->spec_problems.push_back(std::string("spec.callbackUrls.") + key +
                                      " must be a string");
      continue;
    }
    out[key] = Text(*url);
  }
  for (const auto& member : urls.GetObject()) {
    std::string name = Text(member.name);
    bool known = false;
    for (const char* key : kCallbackUrlKeys) {
      known = known || name == key;
    }
    if (!known) {
      client->spec_problems.push_back("spec.callbackUrls." + name +
                                      " is not a SEP with callbacks (sep6, sep24, sep31, sep12)");
    }
  }
  if (out.size() > 0) {
    client->item["callback_urls"] = out;
  }
}

// A {name, key} reference; the API server fills in the schema's default key, and so does this
// for objects written without it.
std::optional<SecretRef> ReadRef(const rapidjson::Value& ref, const char* where,
                                 const char* key_member, const char* default_key,
                                 CallbackClient* client) {
  SecretRef secret{StringMember(ref, "name"), StringMember(ref, key_member)};
  if (secret.key.empty()) {
    secret.key = default_key;
  }
  if (!ref.IsObject() || secret.name.empty()) {
    client->spec_problems.push_back(std::string("spec.") + where + " needs a Secret name");
    return std::nullopt;
  }
  return secret;
}

void ConvertSecretRefs(const rapidjson::Value& spec, CallbackClient* client) {
  if (const rapidjson::Value* ref = Member(spec, "caSecretRef")) {
    client->ca_secret = ReadRef(*ref, "caSecretRef", "key", "ca.crt", client);
  }
  if (const rapidjson::Value* ref = Member(spec, "clientCertSecretRef")) {
    if (auto cert = ReadRef(*ref, "clientCertSecretRef", "certKey", "tls.crt", client)) {
      client->secret_uses.push_back({"client_cert_file", *cert});
    }
    if (auto key = ReadRef(*ref, "clientCertSecretRef", "keyKey", "tls.key", client)) {
      client->secret_uses.push_back({"client_key_file", *key});
    }
  }
  if (const rapidjson::Value* ref = Member(spec, "webhookSecretRef")) {
    if (auto secret = ReadRef(*ref, "webhookSecretRef", "key", "webhook-secret", client)) {
      client->secret_uses.push_back({"webhook_secret_file", *secret});
    }
  }
  if (const rapidjson::Value* ref = Member(spec, "webhookSecretPreviousRef")) {
    if (auto secret = ReadRef(*ref, "webhookSecretPreviousRef", "key", "webhook-secret", client)) {
      client->secret_uses.push_back({"webhook_secret_previous_file", *secret});
    }
  }
}

void ConvertSpec(const rapidjson::Value& spec, CallbackClient* client) {
  client->item = YAML::Node(YAML::NodeType::Map);
  if (!spec.IsObject()) {
    client->spec_problems.push_back("spec must be an object");
    return;
  }
  std::string spec_name = StringMember(spec, "name");
  client->client_name = spec_name.empty() ? client->name : spec_name;
  client->item["name"] = client->client_name;
  if (const rapidjson::Value* type = Member(spec, "type"); type && type->IsString()) {
    client->item["type"] = Text(*type);
  } else {
    client->spec_problems.push_back("spec.type is required (custodial or noncustodial)");
  }
  std::map<std::string, const SpecField*> fields;
  for (const SpecField& field : kSpecFields) {
    fields[field.spec_name] = &field;
  }
  for (const SpecField& field : kSpecFields) {
    if (const rapidjson::Value* value = Member(spec, field.spec_name)) {
      ConvertField(field, *value, client);
    }
  }
  if (const rapidjson::Value* urls = Member(spec, "callbackUrls")) {
    ConvertCallbackUrls(*urls, client);
  }
  ConvertSecretRefs(spec, client);
  for (const auto& member : spec.GetObject()) {
    std::string name = Text(member.name);
    bool reference = name == "caSecretRef" || name == "clientCertSecretRef" ||
                     name == "webhookSecretRef" || name == "webhookSecretPreviousRef";
    if (name != "name" && name != "type" && name != "callbackUrls" && !reference &&
        !fields.count(name) && !IsIgnoredSpecField(name)) {
      client->spec_problems.push_back("spec." + name + " is not a CallbackClient field");
    }
  }
}

void ReadStatus(const rapidjson::Value& status, ResourceStatus* out) {
  out->observed_generation = IntMember(status, "observedGeneration").value_or(0);
  out->client_name = StringMember(status, "clientName");
  out->consumer_group = StringMember(status, "consumerGroup");
  out->config_generation = IntMember(status, "configGeneration");
  const rapidjson::Value* conditions = Member(status, "conditions");
  if (!conditions || !conditions->IsArray()) {
    return;
  }
  for (const auto& condition : conditions->GetArray()) {
    if (StringMember(condition, "type") != "Ready") {
      continue;
    }
    out->ready.status = StringMember(condition, "status");
    out->ready.reason = StringMember(condition, "reason");
    out->ready.message = StringMember(condition, "message");
    out->ready.observed_generation = IntMember(condition, "observedGeneration").value_or(0);
    out->ready.last_transition_time = StringMember(condition, "lastTransitionTime");
  }
}

}  // namespace

Result<CallbackClient> ParseCallbackClient(const rapidjson::Value& object) {
  const rapidjson::Value* metadata = Member(object, "metadata");
  if (!metadata) {
    return Error{"reading a CallbackClient failed: the object has no metadata"};
  }
  CallbackClient client;
  client.ns = StringMember(*metadata, "namespace");
  client.name = StringMember(*metadata, "name");
  client.uid = StringMember(*metadata, "uid");
  client.resource_version = StringMember(*metadata, "resourceVersion");
  client.creation_timestamp = StringMember(*metadata, "creationTimestamp");
  client.generation = IntMember(*metadata, "generation").value_or(0);
  if (client.name.empty() || client.ns.empty()) {
    return Error{"reading a CallbackClient failed: metadata.name or metadata.namespace is missing"};
  }
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  const rapidjson::Value* spec = Member(object, "spec");
  ConvertSpec(spec ? *spec : kEmpty, &client);
  if (const rapidjson::Value* status = Member(object, "status")) {
    ReadStatus(*status, &client.status);
  }
  return client;
}

Result<CallbackClient> ParseCallbackClient(std::string_view json) {
  Result<rapidjson::Document> document = ParseJson(json, "a CallbackClient");
  if (!document.ok()) {
    return document.error();
  }
  return ParseCallbackClient(static_cast<const rapidjson::Value&>(*document));
}

std::string CallbackClientsPath(const std::string& ns) {
  return "/apis/" + std::string(kGroup) + "/" + std::string(kVersion) + "/namespaces/" +
         kube::QueryEscape(ns) + "/" + std::string(kPlural);
}

std::string CallbackClientPath(const std::string& ns, const std::string& name) {
  return CallbackClientsPath(ns) + "/" + kube::QueryEscape(name);
}

}  // namespace anchor_events::control
