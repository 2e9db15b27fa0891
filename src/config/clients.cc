// Parsing the clients document (SPEC §7.3): the Platform's item format plus this product's
// per-client delivery extensions.
#include <algorithm>
#include <functional>
#include <set>

#include "config/clients_parse.h"
#include "config/loader.h"
#include "config/value.h"
#include "config/yaml_util.h"

namespace anchor_events::config {
namespace {

using ClientSetter = std::function<void(ClientConfig&, const Value&)>;

struct ClientField {
  Setting type;  // only the type, used to parse the raw value
  ClientSetter set;
};

Setting TypeOnly(SettingType type, std::vector<std::string> choices = {}) {
  Setting setting;
  setting.type = type;
  setting.min = -2147483648LL;
  setting.max = 2147483647LL;
  setting.choices = std::move(choices);
  setting.default_text = "-";  // not empty, so an empty enum value is rejected
  return setting;
}

ClientField IntField(std::function<void(ClientConfig&, int64_t)> set) {
  return {TypeOnly(SettingType::kInt),
          [set](ClientConfig& c, const Value& v) { set(c, std::get<int64_t>(v)); }};
}

ClientField TextField(std::string ClientConfig::*field) {
  return {TypeOnly(SettingType::kString),
          [field](ClientConfig& c, const Value& v) { c.*field = std::get<std::string>(v); }};
}

ClientField ListField(std::vector<std::string> ClientConfig::*field) {
  return {TypeOnly(SettingType::kStringList), [field](ClientConfig& c, const Value& v) {
            c.*field = std::get<std::vector<std::string>>(v);
          }};
}

const std::map<std::string, ClientField>& ClientFields() {
  using std::chrono::milliseconds;
  static const auto* fields = new std::map<std::string, ClientField>{
      {"name", TextField(&ClientConfig::name)},
      {"type",
       {TypeOnly(SettingType::kEnum, {"custodial", "noncustodial"}),
        [](ClientConfig& c, const Value& v) {
          c.type = std::get<std::string>(v) == "custodial" ? ClientType::kCustodial
                                                           : ClientType::kNoncustodial;
        }}},
      {"signing_keys", ListField(&ClientConfig::signing_keys)},
      {"domains", ListField(&ClientConfig::domains)},
      {"max_attempts", IntField([](ClientConfig& c, int64_t v) {
         c.lane.retry.max_attempts = static_cast<int>(v);
       })},
      {"initial_backoff_ms", IntField([](ClientConfig& c, int64_t v) {
         c.lane.retry.initial_backoff = milliseconds(v);
       })},
      {"max_backoff_ms",
       IntField([](ClientConfig& c, int64_t v) { c.lane.retry.max_backoff = milliseconds(v); })},
      {"max_in_flight",
       IntField([](ClientConfig& c, int64_t v) { c.lane.max_in_flight = static_cast<int>(v); })},
      {"request_timeout_ms",
       IntField([](ClientConfig& c, int64_t v) { c.lane.request_timeout = milliseconds(v); })},
      {"standard_webhooks",
       {TypeOnly(SettingType::kBool),
        [](ClientConfig& c, const Value& v) { c.standard_webhooks = std::get<bool>(v); }}},
      {"allowed_networks", ListField(&ClientConfig::allowed_networks)},
      {"ca_file", TextField(&ClientConfig::ca_file)},
      {"client_cert_file", TextField(&ClientConfig::client_cert_file)},
      {"client_key_file", TextField(&ClientConfig::client_key_file)},
      {"webhook_secret_file", TextField(&ClientConfig::webhook_secret_file)},
      {"webhook_secret_previous_file", TextField(&ClientConfig::webhook_secret_previous_file)},
      {"material_sha256", TextField(&ClientConfig::material_sha256)},
  };
  return *fields;
}

// Keys the Platform reads that have no meaning here; accepted so its files load unchanged.
bool IsIgnoredPlatformKey(const std::string& key) {
  return key == "allow_any_destination" || key == "destination_accounts";
}

std::string UnknownClientKeyHint(const std::string& key) {
  if (key == "webhook_secret" || key == "webhook_secret_previous") {
    return "; hint: secrets are never written in the clients file, use " + key +
           "_file (a path relative to the clients file)";
  }
  if (key == "signing_key" || key == "domain" || key == "callback_url") {
    return "; hint: the Platform's deprecated single-value keys are not read, use " +
           std::string(key == "callback_url" ? "callback_urls.sep6/sep24/sep31/sep12"
                                             : key + "s (a list)");
  }
  return "";
}

struct ItemContext {
  std::string source;
  std::string key;  // "items[2]"
  std::vector<std::string>* problems;
};

void ParseCallbackUrls(const YAML::Node& node, const ItemContext& item, ClientConfig* client) {
  std::string prefix = item.key + ".callback_urls";
  if (!node.IsMap()) {
    item.problems->push_back("invalid setting for " + prefix + " (" + Location(item.source, node) +
                             "): expected a mapping of sep6, sep24, sep31, sep12");
    return;
  }
  std::map<std::string, std::string*> urls = {{"sep6", &client->callback_urls.sep6},
                                              {"sep24", &client->callback_urls.sep24},
                                              {"sep31", &client->callback_urls.sep31},
                                              {"sep12", &client->callback_urls.sep12}};
  ForEachUniqueKey(
      node, prefix, item.source, item.problems,
      [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) {
        std::string where = JoinKey(prefix, name) + " (" + Location(item.source, key) + ")";
        auto url = urls.find(name);
        if (url == urls.end()) {
          item.problems->push_back("unknown key for " + where +
                                   ": expected sep6, sep24, sep31 or sep12");
        } else if (value.IsScalar()) {
          *url->second = value.Scalar();
        } else if (!value.IsNull()) {
          item.problems->push_back("invalid setting for " + where + ": expected a URL");
        }
      });
}

void ParseClientKey(const std::string& name, const YAML::Node& key, const YAML::Node& value,
                    const ItemContext& item, ClientConfig* client) {
  std::string path = JoinKey(item.key, name);
  std::string where = path + " (" + Location(item.source, key) + ")";
  if (name == "callback_urls") {
    ParseCallbackUrls(value, item, client);
    return;
  }
  auto field = ClientFields().find(name);
  if (field == ClientFields().end()) {
    if (!IsIgnoredPlatformKey(name)) {
      item.problems->push_back("unknown key for " + where + ": not a client setting" +
                               UnknownClientKeyHint(name));
    }
    return;
  }
  if (value.IsNull()) {
    return;
  }
  std::optional<RawValue> raw = ToRawValue(value, path, item.source, item.problems);
  if (!raw) {
    return;
  }
  Result<Value> parsed = ParseValue(field->second.type, *raw);
  if (!parsed.ok()) {
    item.problems->push_back("invalid setting for " + where + ": " + parsed.error().message);
    return;
  }
  field->second.set(*client, *parsed);
}

std::optional<ClientConfig> ParseItem(const YAML::Node& node, const ItemContext& item,
                                      const LaneOptions& lane_defaults) {
  if (!node.IsMap()) {
    item.problems->push_back("invalid client for " + item.key + " (" + Location(item.source, node) +
                             "): expected a mapping");
    return std::nullopt;
  }
  ClientConfig client;
  client.lane = lane_defaults;
  bool has_type = false;
  bool type_ok = false;
  size_t before = item.problems->size();
  ForEachUniqueKey(node, item.key, item.source, item.problems,
                   [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) {
                     size_t problems_before = item.problems->size();
                     ParseClientKey(name, key, value, item, &client);
                     if (name == "type" && !value.IsNull()) {
                       has_type = true;
                       type_ok = item.problems->size() == problems_before;
                     }
                   });
  std::string where = (client.name.empty() ? item.key : "client '" + client.name + "'") + " (" +
                      Location(item.source, node) + ")";
  if (!has_type) {
    item.problems->push_back("missing type for " + where + ": expected custodial or noncustodial");
  }
  // The semantic rules run even after a structural problem, so one pass reports everything;
  // they depend on the type, so they wait for a valid one.
  if (type_ok) {
    ValidateClient(client, where, item.problems);
  }
  if (item.problems->size() != before) {
    return std::nullopt;
  }
  return client;
}

// Names become consumer group ids and domains route events, so neither may be shared.
void CheckUnique(const std::vector<ClientConfig>& clients, const std::string& source,
                 std::vector<std::string>* problems) {
  std::set<std::string> names;
  std::map<std::string, std::string> domain_owner;
  for (const ClientConfig& client : clients) {
    if (!client.name.empty() && !names.insert(client.name).second) {
      problems->push_back("duplicate client for '" + client.name + "' (" + source +
                          "): client names must be unique");
    }
    for (const std::string& domain : client.domains) {
      auto [owner, inserted] = domain_owner.emplace(domain, client.name);
      if (!inserted && owner->second != client.name) {
        problems->push_back("duplicate domain for '" + domain + "' (" + source +
                            "): claimed by clients '" + owner->second + "' and '" + client.name +
                            "'");
      }
    }
  }
}

}  // namespace

std::vector<ClientConfig> ParseClientItems(const YAML::Node& items, const std::string& items_key,
                                           const std::string& source,
                                           const LaneOptions& lane_defaults,
                                           std::vector<std::string>* problems) {
  std::vector<ClientConfig> clients;
  if (!items || items.IsNull()) {
    return clients;
  }
  if (!items.IsSequence()) {
    problems->push_back("invalid setting for " + items_key + " (" + Location(source, items) +
                        "): expected a list of clients");
    return clients;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    ItemContext item{source, items_key + "[" + std::to_string(i) + "]", problems};
    if (std::optional<ClientConfig> client = ParseItem(items[i], item, lane_defaults)) {
      clients.push_back(std::move(*client));
    }
  }
  CheckUnique(clients, source, problems);
  return clients;
}

namespace {

bool IsRevision(const std::string& text) {
  return !text.empty() && text.size() <= 18 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<ClientsDocument> ParseClientsDocument(const std::string& text, const std::string& source,
                                             const LaneOptions& lane_defaults,
                                             std::vector<std::string>* problems) {
  Result<YAML::Node> root = ParseYaml(text, source);
  if (!root.ok()) {
    problems->push_back(root.error().message);
    return root.error();
  }
  size_t before = problems->size();
  ClientsDocument document;
  YAML::Node items;
  if (root->IsMap()) {
    ForEachUniqueKey(
        *root, "", source, problems,
        [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) {
          if (name == "items") {
            items = value;
          } else if (name == "revision") {
            if (value.IsScalar() && IsRevision(value.Scalar())) {
              document.revision = value.Scalar();
            } else {
              problems->push_back("invalid setting for revision (" + Location(source, value) +
                                  "): expected a decimal number of up to 18 digits");
            }
          } else {
            problems->push_back("unknown key for " + name + " (" + Location(source, key) +
                                "): a clients document holds only items and revision");
          }
        });
  } else if (!root->IsNull()) {
    problems->push_back("invalid clients document for " + source +
                        ": the top level must be a mapping with items");
  }
  document.clients = ParseClientItems(items, "items", source, lane_defaults, problems);
  if (problems->size() != before) {
    return Error{"invalid clients document for " + source + ": " +
                 std::to_string(problems->size() - before) + " problem(s)"};
  }
  return document;
}

Result<std::vector<ClientConfig>> ParseClients(const std::string& text, const std::string& source,
                                               const LaneOptions& lane_defaults,
                                               std::vector<std::string>* problems) {
  Result<ClientsDocument> document = ParseClientsDocument(text, source, lane_defaults, problems);
  if (!document.ok()) {
    return document.error();
  }
  return std::move(document->clients);
}

}  // namespace anchor_events::config
