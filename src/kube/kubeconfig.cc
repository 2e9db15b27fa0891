// Where the API server is and how to authenticate: kubeconfig files, the pod's service account,
// and the default lookup order between them.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "kube/client.h"

namespace anchor_events::kube {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return content.str();
}

std::string Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return "";
  }
  return std::string(text.substr(begin, text.find_last_not_of(kSpace) - begin + 1));
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard alphabet; whitespace is skipped and padding is optional, as in kubeconfigs written by
// hand or wrapped by tools.
std::optional<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int value = Base64Value(c);
    if (value < 0 || padding) {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  if (count >= 6) {
    return std::nullopt;  // a lone trailing character cannot encode a byte
  }
  return out;
}

std::string JoinProblems(const std::vector<std::string>& problems) {
  std::string joined;
  for (const std::string& problem : problems) {
    joined += (joined.empty() ? "" : "; ") + problem;
  }
  return joined;
}

// The `field` map of the list entry named `name` (clusters/cluster, users/user, ...).
YAML::Node FindNamed(const YAML::Node& root, const char* list, const char* field,
                     const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const YAML::Node& entry : entries) {
      if (entry.IsMap() && entry["name"] && entry["name"].as<std::string>() == name) {
        return entry[field] ? entry[field] : YAML::Node(YAML::NodeType::Map);
      }
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string Text(const YAML::Node& map, const char* key) {
  const YAML::Node value = map[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

// Reads the inline `data_key` (base64 PEM) or the `file_key` path of one entry into `pem` or
// `file`; a relative path is resolved against the kubeconfig's folder.
struct Material {
  std::string& pem;
  std::string& file;
};

void TakeMaterial(const YAML::Node& map, const char* data_key, const char* file_key,
                  const std::string& what, const fs::path& base, Material out,
                  std::vector<std::string>& problems) {
  std::string data = Text(map, data_key);
  std::string file = Text(map, file_key);
  if (!data.empty() && !file.empty()) {
    problems.push_back(what + " sets both " + data_key + " and " + file_key);
    return;
  }
  if (!data.empty()) {
    std::optional<std::string> decoded = DecodeBase64(data);
    if (!decoded) {
      problems.push_back(what + " " + data_key + " is not valid base64");
    } else {
      out.pem = *decoded;
    }
  } else if (!file.empty()) {
    out.file = fs::path(file).is_absolute() ? file : (base / file).lexically_normal().string();
    if (!ReadWholeFile(out.file)) {
      problems.push_back(what + " " + file_key + " " + out.file + " cannot be read");
    }
  }
}

void TakeCluster(const YAML::Node& cluster, const std::string& name, const fs::path& base,
                 ClusterAccess& access, std::vector<std::string>& problems) {
  std::string what = "cluster " + name;
  access.server = Text(cluster, "server");
  while (!access.server.empty() && access.server.back() == '/') access.server.pop_back();
  if (access.server.empty()) {
    problems.push_back(what + " has no server");
  } else if (access.server.rfind("https://", 0) != 0 && access.server.rfind("http://", 0) != 0) {
    problems.push_back(what + " server " + access.server + " is not an http(s) URL");
  }
  TakeMaterial(cluster, "certificate-authority-data", "certificate-authority", what, base,
               {access.ca_pem, access.ca_file}, problems);
  access.insecure_skip_tls_verify =
      cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>(false);
  if (access.insecure_skip_tls_verify && (!access.ca_pem.empty() || !access.ca_file.empty())) {
    problems.push_back(what +
                       " sets insecure-skip-tls-verify together with a certificate authority");
  }
  for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
    if (cluster[unsupported]) {
      problems.push_back(what + " uses " + unsupported + ", which is not supported");
    }
  }
}

void TakeUser(const YAML::Node& user, const std::string& name, const fs::path& base,
              ClusterAccess& access, std::vector<std::string>& problems) {
  std::string what = "user " + name;
  if (user["exec"] || user["auth-provider"]) {
    problems.push_back(what + " authenticates with an " +
                       (user["exec"] ? "exec" : "auth-provider") +
                       " plugin, which is not supported; hint: use a client certificate or a "
                       "token (e.g. kubectl create token)");
  }
  if (user["username"] || user["password"]) {
    problems.push_back(what + " uses basic authentication, which is not supported");
  }
  TakeMaterial(user, "client-certificate-data", "client-certificate", what, base,
               {access.client_cert_pem, access.client_cert_file}, problems);
  TakeMaterial(user, "client-key-data", "client-key", what, base,
               {access.client_key_pem, access.client_key_file}, problems);
  bool has_cert = !access.client_cert_pem.empty() || !access.client_cert_file.empty();
  bool has_key = !access.client_key_pem.empty() || !access.client_key_file.empty();
  if (has_cert != has_key) {
    problems.push_back(what + " has a client " +
                       (has_cert ? "certificate without a key" : "key without a certificate"));
  }
  access.token = Text(user, "token");
  std::string token_file = Text(user, "tokenFile");
  if (!token_file.empty()) {
    // As in client-go, the file wins over an inline token: it is the one that gets rotated.
    access.token.clear();
    access.token_file = fs::path(token_file).is_absolute()
                            ? token_file
                            : (base / token_file).lexically_normal().string();
    if (!ReadWholeFile(access.token_file)) {
      problems.push_back(what + " tokenFile " + access.token_file + " cannot be read");
    }
  }
}

Result<ClusterAccess> FromDocument(const YAML::Node& root, const std::string& path,
                                   const std::string& wanted_context) {
  std::string context_name =
      wanted_context.empty() ? Text(root, "current-context") : wanted_context;
  std::string failed = "loading kubeconfig failed for " + path;
  if (context_name.empty()) {
    return Error{failed + ": no context given and no current-context set"};
  }
  failed += " (context " + context_name + ")";
  YAML::Node context = FindNamed(root, "contexts", "context", context_name);
  if (!context) {
    return Error{failed + ": the context does not exist"};
  }
  ClusterAccess access;
  access.source = "kubeconfig " + path + " (context " + context_name + ")";
  access.default_namespace = Text(context, "namespace");
  if (access.default_namespace.empty()) {
    access.default_namespace = "default";
  }
  std::vector<std::string> problems;
  fs::path base = fs::absolute(fs::path(path)).parent_path();
  std::string cluster_name = Text(context, "cluster");
  YAML::Node cluster = FindNamed(root, "clusters", "cluster", cluster_name);
  if (cluster_name.empty() || !cluster) {
    problems.push_back("cluster " + (cluster_name.empty() ? "(none)" : cluster_name) +
                       " does not exist");
  } else {
    TakeCluster(cluster, cluster_name, base, access, problems);
  }
  std::string user_name = Text(context, "user");
  if (!user_name.empty()) {
    YAML::Node user = FindNamed(root, "users", "user", user_name);
    if (!user) {
      problems.push_back("user " + user_name + " does not exist");
    } else {
      TakeUser(user, user_name, base, access, problems);
    }
  }
  if (!problems.empty()) {
    return Error{failed + ": " + JoinProblems(problems)};
  }
  return access;
}

}  // namespace

Result<ClusterAccess> LoadKubeconfig(const std::string& path, const std::string& context) {
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text) {
    return Error{"loading kubeconfig failed for " + path + ": the file cannot be read"};
  }
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) {
      return Error{"loading kubeconfig failed for " + path + ": not a YAML mapping"};
    }
    return FromDocument(root, path, context);
  } catch (const YAML::Exception& e) {
    // The parser's message quotes positions, not values, so no secret leaks through it.
    return Error{"loading kubeconfig failed for " + path + ": " + e.what()};
  }
}

Result<ClusterAccess> LoadInCluster(const std::string& dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  std::vector<std::string> problems;
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    problems.push_back("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  ClusterAccess access;
  access.source = "in-cluster";
  access.token_file = dir + "/token";
  access.ca_file = dir + "/ca.crt";
  std::optional<std::string> token = ReadWholeFile(access.token_file);
  if (!token || Trim(*token).empty()) {
    problems.push_back(access.token_file + " is missing or empty");
  }
  if (!ReadWholeFile(access.ca_file)) {
    problems.push_back(access.ca_file + " cannot be read");
  }
  std::optional<std::string> name_space = ReadWholeFile(dir + "/namespace");
  if (!name_space || Trim(*name_space).empty()) {
    problems.push_back(dir + "/namespace is missing or empty");
  } else {
    access.default_namespace = Trim(*name_space);
  }
  if (!problems.empty()) {
    return Error{"loading in-cluster access failed for " + dir + ": " + JoinProblems(problems) +
                 "; hint: is this running in a pod with a mounted service-account token?"};
  }
  std::string host_text(host);
  if (host_text.find(':') != std::string::npos) {
    host_text = "[" + host_text + "]";
  }
  access.server = "https://" + host_text + ":" + port;
  return access;
}

Result<ClusterAccess> LoadDefault() {
  const char* kubeconfig = std::getenv("KUBECONFIG");
  if (kubeconfig != nullptr && *kubeconfig != '\0') {
    std::string list(kubeconfig);
    std::string first = list.substr(0, list.find(':'));
    if (!first.empty()) {
      return LoadKubeconfig(first);
    }
  }
  const char* service_host = std::getenv("KUBERNETES_SERVICE_HOST");
  if (service_host != nullptr && *service_host != '\0') {
    return LoadInCluster();
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    return Error{
        "finding Kubernetes API access failed: KUBECONFIG, KUBERNETES_SERVICE_HOST and HOME are "
        "all unset"};
  }
  std::string path = std::string(home) + "/.kube/config";
  if (!fs::exists(path)) {
    return Error{
        "finding Kubernetes API access failed: KUBECONFIG and KUBERNETES_SERVICE_HOST "
        "are unset and " +
        path + " does not exist"};
  }
  return LoadKubeconfig(path);
}

std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
        (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '.' || byte == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

}  // namespace anchor_events::kube
