// A small Kubernetes API client (SPEC §10): where the API server is and how to authenticate
// (a kubeconfig for local runs, the pod's service account in a cluster), plain requests and
// streamed watches over HTTPS with libcurl.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace anchor_events::kube {

// How to reach and authenticate to one API server. Each material is either inline (PEM text)
// or a file path; a file is read again when its content changes, so rotated service-account
// tokens and CA bundles are picked up without a restart.
struct ClusterAccess {
  std::string server;  // "https://host:port", no trailing slash
  std::string ca_pem;
  std::string ca_file;  // empty with ca_pem empty: the system bundle
  std::string client_cert_pem;
  std::string client_cert_file;
  std::string client_key_pem;
  std::string client_key_file;
  std::string token;
  std::string token_file;
  bool insecure_skip_tls_verify = false;  // only from a kubeconfig that asks for it
  std::string default_namespace;          // the context's namespace, or the pod's
  std::string source;                     // "kubeconfig /path (context x)" or "in-cluster"
};

// Reads a kubeconfig file: `context` empty means its current-context. Relative file paths in it
// are resolved against the file's folder.
Result<ClusterAccess> LoadKubeconfig(const std::string& path, const std::string& context = "");

// The pod's service account: KUBERNETES_SERVICE_HOST/_PORT and `dir`'s token, ca.crt and
// namespace files.
Result<ClusterAccess> LoadInCluster(
    const std::string& dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// KUBECONFIG (first path of the list) when set, else in-cluster when KUBERNETES_SERVICE_HOST is
// set, else ~/.kube/config; an error names what was tried.
Result<ClusterAccess> LoadDefault();

struct Response {
  long status = 0;   // HTTP status
  std::string body;  // at most 16 MiB
};

struct ClientOptions {
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
  std::string user_agent = "anchor-events-operator";
};

// Thread-safe: each call uses its own libcurl easy handle from a small pool.
class Client {
 public:
  explicit Client(ClusterAccess access, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One request. `path` starts with "/" and includes the query. An HTTP response of any status
  // is a Response; a transport failure (connect, TLS, timeout) is an Error.
  Result<Response> Request(std::string_view method, const std::string& path,
                           const std::string& body = "",
                           const std::string& content_type = "application/json");

  // Streams a watch (`path` carries watch=1 and its query). Calls `on_line` for each
  // newline-terminated watch event as it arrives. Returns when the server ends the stream
  // (Response with status 200 and an empty body), when it answers with another status (that
  // status and its body, e.g. 410), when `stopping` returns true (checked at least every
  // 200 ms; status 0), or on a transport failure (Error). `idle_timeout`: no byte at all for
  // this long is a transport failure (dead connection).
  Result<Response> Watch(
      const std::string& path, const std::function<void(std::string_view)>& on_line,
      const std::function<bool()>& stopping,
      std::chrono::milliseconds idle_timeout = std::chrono::milliseconds(120000));

  const ClusterAccess& access() const { return access_; }

 private:
  struct Impl;
  ClusterAccess access_;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query parameter value.
std::string QueryEscape(std::string_view value);

}  // namespace anchor_events::kube
