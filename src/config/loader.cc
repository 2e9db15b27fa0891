// Load(): defaults, then the YAML file, then the environment; clients; cross-setting rules.
// Every problem is collected before anything is returned.
#include "config/loader.h"

#include <filesystem>
#include <tuple>

#include <unistd.h>

#include "config/checks.h"
#include "config/clients_parse.h"
#include "config/resolve.h"
#include "config/schema.h"
#include "config/sources.h"
#include "config/validate.h"
#include "config/yaml_util.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace anchor_events::config {
namespace {

std::string TextOf(const ResolvedSettings& resolved, std::string_view path) {
  const Resolved* found = resolved.TryFind(path);
  return found != nullptr ? std::get<std::string>(found->value) : SettingAt(path).default_text;
}

// Where the clients come from, after precedence (SPEC §7.3).
struct ClientsSource {
  std::string type;
  std::string value;
  const Resolved* value_setting;
  const Resolved* items_setting;
};

bool CheckClientsSource(const ClientsSource& source, std::vector<std::string>* problems) {
  size_t before = problems->size();
  if (source.items_setting != nullptr && source.type != "inline") {
    problems->push_back("invalid setting for " + source.items_setting->entry->where +
                        ": clients.items is only read when clients.type is inline, but it is " +
                        source.type);
  }
  if (!source.value.empty() && source.type == "inline") {
    problems->push_back("invalid setting for " + source.value_setting->entry->where +
                        ": clients.value is not read when clients.type is inline; hint: write "
                        "the clients under clients.items");
  }
  return problems->size() == before;
}

std::vector<ClientConfig> ReadClients(const ClientsSource& source, const std::string& config_path,
                                      const LaneOptions& defaults, LoadedConfig* loaded,
                                      std::string* base_dir, std::vector<std::string>* problems) {
  if (source.type == "inline") {
    if (source.items_setting == nullptr) {
      return {};
    }
    *base_dir = source.items_setting->entry->base_dir;
    return ParseClientItems(source.items_setting->entry->node, "clients.items", config_path,
                            defaults, problems);
  }
  if (source.value.empty()) {
    return {};
  }
  std::string name = source.value_setting->entry->level == Level::kEnv
                         ? source.value_setting->entry->where
                         : "clients.value";
  std::string text = source.value;
  if (source.type == "file") {
    name = AbsolutePath(source.value, source.value_setting->entry->base_dir);
    loaded->watched_files.push_back(name);
    *base_dir = DirectoryOf(name);
    Result<std::string> read = ReadTextFile(name, "clients file");
    if (!read.ok()) {
      problems->push_back(read.error().message);
      return {};
    }
    text = std::move(read).value();
  }
  Result<ClientsDocument> document = ParseClientsDocument(text, name, defaults, problems);
  if (!document.ok()) {
    return {};
  }
  loaded->config.clients_revision = document->revision;
  return std::move(document->clients);
}

bool Readable(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error) && access(path.c_str(), R_OK) == 0;
}

// A client's files are resolved like the file that names it, must be readable, and are
// watched, so a rotated certificate, key or secret (a mounted Secret) triggers a reload.
void ResolveClientFiles(const std::string& base_dir, std::vector<ClientConfig>* clients,
                        LoadedConfig* loaded, std::vector<std::string>* problems) {
  for (ClientConfig& client : *clients) {
    for (const auto& [name, path] : ClientFiles(client)) {
      if (path->empty()) {
        continue;
      }
      *path = AbsolutePath(*path, base_dir);
      loaded->watched_files.push_back(*path);
      if (!Readable(*path)) {
        problems->push_back("invalid " + std::string(name) + " for client '" + client.name +
                            "': cannot read file " + *path);
      }
    }
  }
}

// Secrets are checked by shape only; a message never quotes them.
void ReadWebhookSecrets(std::vector<ClientConfig>* clients, std::vector<std::string>* problems) {
  for (ClientConfig& client : *clients) {
    const std::tuple<const char*, const std::string*, std::string*> secrets[] = {
        {"webhook_secret_file", &client.webhook_secret_file, &client.webhook_secret},
        {"webhook_secret_previous_file", &client.webhook_secret_previous_file,
         &client.webhook_secret_previous}};
    for (const auto& [name, path, secret] : secrets) {
      if (path->empty() || !Readable(*path)) {
        continue;
      }
      Result<std::string> text = ReadTextFile(*path, name);
      if (!text.ok()) {
        problems->push_back(text.error().message);
        continue;
      }
      *secret = TrimWebhookSecret(*text);
      if (std::string cause = WebhookSecretProblem(*secret); !cause.empty()) {
        problems->push_back("invalid " + std::string(name) + " for client '" + client.name +
                            "': " + cause);
      }
    }
  }
}

// An operator-written item names the digest of its key material; files that do not match it are
// from an older (or newer) Secret than the clients file, so the load waits for them.
void CheckMaterialDigests(const std::vector<ClientConfig>& clients,
                          std::vector<std::string>* problems) {
  for (const ClientConfig& client : clients) {
    if (client.material_sha256.empty()) {
      continue;
    }
    std::map<std::string, std::string> contents;
    for (const auto& [name, path] : ClientFiles(client)) {
      if (path->empty() || std::string_view(name) == "ca_file") {
        continue;  // the CA bundle is not key material
      }
      Result<std::string> text = ReadTextFile(*path, name);
      if (!text.ok()) {
        return;  // already reported as unreadable
      }
      contents[name] = std::move(text).value();
    }
    if (MaterialDigest(contents) != client.material_sha256) {
      problems->push_back("invalid material_sha256 for client '" + client.name +
                          "': the certificate, key and secret files do not match it (their "
                          "Secret may not be projected yet; the load is retried when they change)");
    }
  }
}

// The business server's TLS files are watched like the clients' (the settings table has
// already made them absolute and checked they are readable).
void WatchCallbackApiFiles(LoadedConfig* loaded) {
  const CallbackApiConfig& api = loaded->config.callback_api;
  for (const std::string* path : {&api.ca_file, &api.client_cert_file, &api.client_key_file}) {
    if (!path->empty()) {
      loaded->watched_files.push_back(*path);
    }
  }
}

void LoadClients(const ResolvedSettings& resolved, const std::string& config_path,
                 LoadedConfig* loaded, std::vector<std::string>* problems) {
  if (resolved.Failed("clients.type") || resolved.Failed("clients.value") ||
      resolved.Failed("clients.items")) {
    return;
  }
  ClientsSource source{TextOf(resolved, "clients.type"), TextOf(resolved, "clients.value"),
                       resolved.TryFind("clients.value"), resolved.TryFind("clients.items")};
  if (!CheckClientsSource(source, problems)) {
    return;
  }
  std::string base_dir;
  std::vector<ClientConfig> clients = ReadClients(
      source, config_path, loaded->config.client_lane_defaults, loaded, &base_dir, problems);
  ResolveClientFiles(base_dir, &clients, loaded, problems);
  ReadWebhookSecrets(&clients, problems);
  CheckMaterialDigests(clients, problems);
  loaded->config.clients = std::move(clients);
}

}  // namespace

std::string ConfigErrors::Joined() const {
  std::string text = "invalid configuration:";
  for (const std::string& problem : problems) {
    text += "\n  - " + problem;
  }
  return text;
}

namespace {

// Prefixes owned by this product's settings. The Platform's environment carries many other
// variables, so only these are checked for misspellings.
std::vector<std::string> UnknownEnvironmentNames(const std::map<std::string, std::string>& env) {
  static const char* const kPrefixes[] = {"EVENT_PROCESSOR_", "CALLBACK_API_", "EVENT_QUEUE_",
                                          "EVENTS_QUEUE_",    "CLIENTS_",      "SECRET_SEP10_"};
  std::vector<std::string> unknown;
  for (const auto& [name, value] : env) {
    for (const char* prefix : kPrefixes) {
      if (name.rfind(prefix, 0) == 0 && !TryFindByEnv(name)) {
        unknown.push_back("environment variable " + name +
                          " is not a setting of anchor-events and is ignored");
        break;
      }
    }
  }
  return unknown;
}

}  // namespace

Result<LoadedConfig> Load(const LoadInput& input, ConfigErrors* errors) {
  std::vector<std::string> problems;
  std::vector<Entry> entries;
  if (!input.config_path.empty()) {
    ReadConfigFile(input.config_path, &entries, &problems);
  }
  ReadEnvironment(input.env, &entries, &problems);
  ResolvedSettings resolved(entries, &problems);

  LoadedConfig loaded;
  ApplyDefaults(&loaded.config);
  resolved.ApplyTo(&loaded.config);
  LoadClients(resolved, input.config_path, &loaded, &problems);
  ValidateConfig(loaded.config, resolved, &problems);
  WatchCallbackApiFiles(&loaded);
  for (std::string& file : resolved.SecretFiles()) {
    loaded.watched_files.push_back(std::move(file));
  }
  loaded.warnings = UnknownEnvironmentNames(input.env);

  if (!problems.empty()) {
    ConfigErrors collected{std::move(problems), std::move(loaded.watched_files)};
    Error error{collected.Joined()};
    if (errors != nullptr) {
      *errors = std::move(collected);
    }
    return error;
  }
  return loaded;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text(*entry);
    size_t equals = text.find('=');
    if (equals != std::string::npos) {
      env.emplace(text.substr(0, equals), text.substr(equals + 1));
    }
  }
  return env;
}

}  // namespace anchor_events::config
