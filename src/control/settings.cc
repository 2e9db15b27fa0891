#include "control/settings.h"

#include <algorithm>
#include <functional>
#include <regex>

namespace anchor_events::control {
namespace {

struct Reader {
  const std::map<std::string, std::string>& env;
  std::vector<std::string> problems;

  const std::string* Find(const std::string& name) const {
    auto it = env.find(name);
    return it == env.end() ? nullptr : &it->second;
  }

  void Text(const std::string& name, std::string* out) {
    if (const std::string* value = Find(name)) {
      *out = *value;
    }
  }

  void Int(const std::string& name, int64_t min, int64_t max,
           const std::function<void(int64_t)>& set) {
    const std::string* value = Find(name);
    if (!value) {
      return;
    }
    char* end = nullptr;
    errno = 0;
    long long parsed = std::strtoll(value->c_str(), &end, 10);
    if (value->empty() || *end != '\0' || errno != 0 || parsed < min || parsed > max) {
      problems.push_back("invalid setting for " + name + ": '" + *value +
                         "' is not an integer from " + std::to_string(min) + " to " +
                         std::to_string(max));
      return;
    }
    set(parsed);
  }

  void Bool(const std::string& name, bool* out) {
    const std::string* value = Find(name);
    if (!value) {
      return;
    }
    if (*value == "true") {
      *out = true;
    } else if (*value == "false") {
      *out = false;
    } else {
      problems.push_back("invalid setting for " + name + ": '" + *value + "' is not true or false");
    }
  }

  std::vector<std::string> List(const std::string& name) {
    std::vector<std::string> out;
    const std::string* value = Find(name);
    if (!value) {
      return out;
    }
    size_t start = 0;
    while (start <= value->size()) {
      size_t comma = value->find(',', start);
      std::string item =
          value->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty()) {
        out.push_back(item);
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
    return out;
  }
};

bool IsDnsLabel(const std::string& text, size_t max) {
  static const std::regex kLabel("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return !text.empty() && text.size() <= max && std::regex_match(text, kLabel);
}

bool IsDnsSubdomain(const std::string& text) {
  static const std::regex kName(
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  return !text.empty() && text.size() <= 253 && std::regex_match(text, kName);
}

bool IsConfigMapKey(const std::string& text) {
  static const std::regex kKey("^[-._a-zA-Z0-9]+$");
  return !text.empty() && text.size() <= 253 && std::regex_match(text, kKey) && text != "." &&
         text != "..";
}

bool IsHttpUrl(const std::string& text) {
  static const std::regex kUrl("^https?://[^/?#@\\s]+$");
  return std::regex_match(text, kUrl);
}

}  // namespace

const std::vector<std::string>& SettingNames() {
  static const auto* names = new std::vector<std::string>{
      "OPERATOR_NAMESPACE",
      "OPERATOR_WATCH_NAMESPACES",
      "OPERATOR_IDENTITY",
      "OPERATOR_CLIENTS_CONFIGMAP",
      "OPERATOR_CLIENTS_KEY",
      "OPERATOR_LEADER_ELECTION",
      "OPERATOR_LEASE_NAME",
      "OPERATOR_LEASE_DURATION_SECONDS",
      "OPERATOR_PROCESSOR_SERVICE",
      "OPERATOR_PROCESSOR_PORT",
      "OPERATOR_PROCESSOR_URLS",
      "OPERATOR_MANAGEMENT_SERVER_ADDRESS",
      "OPERATOR_MANAGEMENT_SERVER_PORT",
      "OPERATOR_RESYNC_SECONDS",
      "OPERATOR_OWNER_DEPLOYMENT",
      "OPERATOR_LOG_LEVEL",
      "OPERATOR_CLIENT_SECRETS_SECRET",
      "OPERATOR_CLIENT_SECRETS_DIR",
  };
  return *names;
}

Result<Settings> LoadSettings(const std::map<std::string, std::string>& env,
                              const std::string& default_namespace, const std::string& hostname) {
  Settings settings;
  Reader reader{env, {}};
  settings.ns = default_namespace.empty() ? "default" : default_namespace;
  settings.identity = hostname;
  reader.Text("OPERATOR_NAMESPACE", &settings.ns);
  settings.watch_namespaces = reader.List("OPERATOR_WATCH_NAMESPACES");
  if (settings.watch_namespaces.empty()) {
    settings.watch_namespaces.push_back(settings.ns);
  }
  std::sort(settings.watch_namespaces.begin(), settings.watch_namespaces.end());
  settings.watch_namespaces.erase(
      std::unique(settings.watch_namespaces.begin(), settings.watch_namespaces.end()),
      settings.watch_namespaces.end());
  reader.Text("OPERATOR_IDENTITY", &settings.identity);
  reader.Text("OPERATOR_CLIENTS_CONFIGMAP", &settings.clients_configmap);
  reader.Text("OPERATOR_CLIENTS_KEY", &settings.clients_key);
  reader.Text("OPERATOR_CLIENT_SECRETS_SECRET", &settings.client_secrets_secret);
  reader.Text("OPERATOR_CLIENT_SECRETS_DIR", &settings.client_secrets_dir);
  reader.Bool("OPERATOR_LEADER_ELECTION", &settings.leader_election);
  reader.Text("OPERATOR_LEASE_NAME", &settings.lease_name);
  reader.Int("OPERATOR_LEASE_DURATION_SECONDS", 2, 600,
             [&](int64_t v) { settings.lease_duration = std::chrono::seconds(v); });
  reader.Text("OPERATOR_PROCESSOR_SERVICE", &settings.processor_service);
  reader.Int("OPERATOR_PROCESSOR_PORT", 1, 65535,
             [&](int64_t v) { settings.processor_port = static_cast<int>(v); });
  settings.processor_urls = reader.List("OPERATOR_PROCESSOR_URLS");
  reader.Text("OPERATOR_MANAGEMENT_SERVER_ADDRESS", &settings.management_address);
  reader.Int("OPERATOR_MANAGEMENT_SERVER_PORT", 0, 65535,
             [&](int64_t v) { settings.management_port = static_cast<int>(v); });
  reader.Int("OPERATOR_RESYNC_SECONDS", 1, 86400,
             [&](int64_t v) { settings.resync = std::chrono::seconds(v); });
  reader.Text("OPERATOR_OWNER_DEPLOYMENT", &settings.owner_deployment);
  reader.Text("OPERATOR_LOG_LEVEL", &settings.log_level);

  std::vector<std::string>& problems = reader.problems;
  for (const auto& [name, value] : env) {
    if (name.rfind("OPERATOR_", 0) == 0 &&
        std::find(SettingNames().begin(), SettingNames().end(), name) == SettingNames().end()) {
      problems.push_back("unknown setting " + name + " (see `anchor-events operator --help`)");
    }
  }
  for (const std::string& ns : settings.watch_namespaces) {
    if (!IsDnsLabel(ns, 63)) {
      problems.push_back("invalid setting for OPERATOR_WATCH_NAMESPACES: '" + ns +
                         "' is not a namespace name");
    }
  }
  if (!IsDnsLabel(settings.ns, 63)) {
    problems.push_back("invalid setting for OPERATOR_NAMESPACE: '" + settings.ns +
                       "' is not a namespace name");
  }
  if (settings.identity.empty()) {
    problems.push_back("invalid setting for OPERATOR_IDENTITY: empty (and no hostname)");
  }
  if (!IsDnsSubdomain(settings.clients_configmap)) {
    problems.push_back("invalid setting for OPERATOR_CLIENTS_CONFIGMAP: '" +
                       settings.clients_configmap + "' is not an object name");
  }
  if (!IsConfigMapKey(settings.clients_key) || settings.clients_key.rfind("ca-", 0) == 0) {
    problems.push_back("invalid setting for OPERATOR_CLIENTS_KEY: '" + settings.clients_key +
                       "' is not a ConfigMap key (letters, digits, '-', '_', '.'; not starting "
                       "with 'ca-', which names CA bundles)");
  }
  if (!IsDnsSubdomain(settings.client_secrets_secret)) {
    problems.push_back("invalid setting for OPERATOR_CLIENT_SECRETS_SECRET: '" +
                       settings.client_secrets_secret + "' is not an object name");
  }
  while (settings.client_secrets_dir.size() > 1 && settings.client_secrets_dir.back() == '/') {
    settings.client_secrets_dir.pop_back();
  }
  if (settings.client_secrets_dir.empty() ||
      settings.client_secrets_dir.find_first_of("\r\n\t ") != std::string::npos) {
    problems.push_back("invalid setting for OPERATOR_CLIENT_SECRETS_DIR: '" +
                       settings.client_secrets_dir +
                       "' is not a folder path (where the processor mounts the client-secrets "
                       "Secret, relative to the clients file or absolute)");
  }
  if (settings.leader_election && !IsDnsSubdomain(settings.lease_name)) {
    problems.push_back("invalid setting for OPERATOR_LEASE_NAME: '" + settings.lease_name +
                       "' is not an object name");
  }
  if (!settings.processor_service.empty() && !IsDnsLabel(settings.processor_service, 63)) {
    problems.push_back("invalid setting for OPERATOR_PROCESSOR_SERVICE: '" +
                       settings.processor_service + "' is not a Service name");
  }
  for (const std::string& url : settings.processor_urls) {
    if (!IsHttpUrl(url)) {
      problems.push_back("invalid setting for OPERATOR_PROCESSOR_URLS: '" + url +
                         "' is not a base URL such as http://127.0.0.1:9088");
    }
  }
  if (settings.processor_service.empty() && settings.processor_urls.empty()) {
    problems.push_back(
        "missing setting OPERATOR_PROCESSOR_SERVICE (or OPERATOR_PROCESSOR_URLS): without the "
        "processor's /status no resource can be reported Ready");
  }
  if (!settings.owner_deployment.empty() && !IsDnsSubdomain(settings.owner_deployment)) {
    problems.push_back("invalid setting for OPERATOR_OWNER_DEPLOYMENT: '" +
                       settings.owner_deployment + "' is not an object name");
  }
  static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
  if (std::find(kLevels.begin(), kLevels.end(), settings.log_level) == kLevels.end()) {
    problems.push_back("invalid setting for OPERATOR_LOG_LEVEL: '" + settings.log_level +
                       "' is not one of trace, debug, info, warn, error");
  }
  if (!problems.empty()) {
    std::string text = "invalid operator configuration:";
    for (const std::string& problem : problems) {
      text += "\n  - " + problem;
    }
    return Error{text};
  }
  return settings;
}

}  // namespace anchor_events::control
