#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "kube/client.h"

namespace anchor_events::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "kubeconfig_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }

  std::string Write(const std::string& relative, const std::string& content) const {
    fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sets (or unsets, with nullopt) an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// base64 of "CA PEM", "CERT PEM" and "KEY PEM".
constexpr char kInlineConfig[] = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: Q0EgUEVN
- name: other
  cluster:
    server: https://127.0.0.2:6443
    insecure-skip-tls-verify: true
contexts:
- name: dev
  context: {cluster: local, user: admin, namespace: payments}
- name: ops
  context: {cluster: other, user: robot}
users:
- name: admin
  user:
    client-certificate-data: Q0VSVCBQRU0=
    client-key-data: |
      S0VZIFBF
      TQ
- name: robot
  user:
    token: secret-robot-token
)";

TEST(KubeconfigTest, LoadsInlineDataOfCurrentContext) {
  TempDir dir;
  std::string path = dir.Write("config", kInlineConfig);

  Result<ClusterAccess> access = LoadKubeconfig(path);

  ASSERT_TRUE(access.ok()) << access.error().message;
  EXPECT_EQ(access->server, "https://127.0.0.1:6443");
  EXPECT_EQ(access->ca_pem, "CA PEM");
  EXPECT_EQ(access->client_cert_pem, "CERT PEM");
  EXPECT_EQ(access->client_key_pem, "KEY PEM");
  EXPECT_EQ(access->default_namespace, "payments");
  EXPECT_FALSE(access->insecure_skip_tls_verify);
  EXPECT_EQ(access->source, "kubeconfig " + path + " (context dev)");
}

TEST(KubeconfigTest, UsesGivenContextOverCurrentOne) {
  TempDir dir;
  std::string path = dir.Write("config", kInlineConfig);

  Result<ClusterAccess> access = LoadKubeconfig(path, "ops");

  ASSERT_TRUE(access.ok()) << access.error().message;
  EXPECT_EQ(access->server, "https://127.0.0.2:6443");
  EXPECT_TRUE(access->insecure_skip_tls_verify);
  EXPECT_EQ(access->token, "secret-robot-token");
  EXPECT_TRUE(access->client_cert_pem.empty());
  EXPECT_EQ(access->default_namespace, "default");
}

TEST(KubeconfigTest, ResolvesRelativeFilesAgainstKubeconfigFolder) {
  TempDir dir;
  dir.Write("kube/certs/ca.crt", "ca");
  dir.Write("kube/certs/user.crt", "cert");
  dir.Write("keys/user.key", "key");
  dir.Write("kube/token", "file-token\n");
  std::string key = (dir.path() / "keys/user.key").string();
  std::string path = dir.Write("kube/config", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", certificate-authority: certs/ca.crt}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {client-certificate: ./certs/user.crt, client-key: )" +
                                                  key +
                                                  R"(, tokenFile: token, token: inline-loses}}]
)");

  Result<ClusterAccess> access = LoadKubeconfig(path);

  ASSERT_TRUE(access.ok()) << access.error().message;
  EXPECT_EQ(access->ca_file, (dir.path() / "kube/certs/ca.crt").string());
  EXPECT_EQ(access->client_cert_file, (dir.path() / "kube/certs/user.crt").string());
  EXPECT_EQ(access->client_key_file, key);
  EXPECT_EQ(access->token_file, (dir.path() / "kube/token").string());
  EXPECT_TRUE(access->token.empty());
}

TEST(KubeconfigTest, RefusesExecPluginWithoutLeakingSecrets) {
  TempDir dir;
  std::string path = dir.Write("config", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {token: do-not-print-me, exec: {command: aws, args: [eks, get-token]}}}]
)");

  Result<ClusterAccess> access = LoadKubeconfig(path);

  ASSERT_FALSE(access.ok());
  EXPECT_THAT(access.error().message, HasSubstr("user u authenticates with an exec plugin"));
  EXPECT_THAT(access.error().message, HasSubstr("not supported"));
  EXPECT_THAT(access.error().message, Not(HasSubstr("do-not-print-me")));
}

TEST(KubeconfigTest, RefusesAuthProviderPlugin) {
  TempDir dir;
  std::string path = dir.Write("config", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {auth-provider: {name: oidc}}}]
)");

  Result<ClusterAccess> access = LoadKubeconfig(path);

  ASSERT_FALSE(access.ok());
  EXPECT_THAT(access.error().message, HasSubstr("auth-provider plugin"));
}

TEST(KubeconfigTest, ListsEveryProblemInOneError) {
  TempDir dir;
  std::string path = dir.Write("config", R"(current-context: c
clusters: [{name: k, cluster: {certificate-authority-data: "not*base64", certificate-authority: x}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {client-certificate: missing.crt}}]
)");

  Result<ClusterAccess> access = LoadKubeconfig(path);

  ASSERT_FALSE(access.ok());
  const std::string& message = access.error().message;
  EXPECT_THAT(message, HasSubstr("loading kubeconfig failed for " + path + " (context c): "));
  EXPECT_THAT(message, HasSubstr("cluster k has no server"));
  EXPECT_THAT(message, HasSubstr("sets both certificate-authority-data and certificate-authority"));
  EXPECT_THAT(message, HasSubstr((dir.path() / "missing.crt").string() + " cannot be read"));
  EXPECT_THAT(message, HasSubstr("user u has a client certificate without a key"));
}

TEST(KubeconfigTest, ReportsMissingContextClusterAndUser) {
  TempDir dir;
  std::string path = dir.Write("config", R"(contexts: [{name: c, context: {cluster: k, user: u}}]
)");

  Result<ClusterAccess> no_current = LoadKubeconfig(path);
  Result<ClusterAccess> unknown = LoadKubeconfig(path, "nope");
  Result<ClusterAccess> dangling = LoadKubeconfig(path, "c");

  ASSERT_FALSE(no_current.ok());
  EXPECT_THAT(no_current.error().message, HasSubstr("no current-context"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("(context nope): the context does not exist"));
  ASSERT_FALSE(dangling.ok());
  EXPECT_THAT(dangling.error().message, HasSubstr("cluster k does not exist"));
  EXPECT_THAT(dangling.error().message, HasSubstr("user u does not exist"));
}

TEST(KubeconfigTest, ReportsUnreadableAndMalformedFiles) {
  TempDir dir;
  std::string broken = dir.Write("broken", "clusters: [unclosed\n");

  Result<ClusterAccess> missing = LoadKubeconfig((dir.path() / "absent").string());
  Result<ClusterAccess> malformed = LoadKubeconfig(broken);

  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("the file cannot be read"));
  ASSERT_FALSE(malformed.ok());
  EXPECT_THAT(malformed.error().message, HasSubstr("loading kubeconfig failed for " + broken));
}

TEST(KubeconfigTest, InClusterReadsServiceAccountFolder) {
  TempDir dir;
  dir.Write("token", "sa-token\n");
  dir.Write("ca.crt", "ca");
  dir.Write("namespace", "anchor-events\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");

  Result<ClusterAccess> access = LoadInCluster(dir.path().string());

  ASSERT_TRUE(access.ok()) << access.error().message;
  EXPECT_EQ(access->server, "https://127.0.0.1:6443");
  EXPECT_EQ(access->token_file, (dir.path() / "token").string());
  EXPECT_EQ(access->ca_file, (dir.path() / "ca.crt").string());
  EXPECT_EQ(access->default_namespace, "anchor-events");
  EXPECT_EQ(access->source, "in-cluster");
}

TEST(KubeconfigTest, InClusterBracketsIpv6Host) {
  TempDir dir;
  dir.Write("token", "t");
  dir.Write("ca.crt", "ca");
  dir.Write("namespace", "ns");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");

  Result<ClusterAccess> access = LoadInCluster(dir.path().string());

  ASSERT_TRUE(access.ok()) << access.error().message;
  EXPECT_EQ(access->server, "https://[::1]:443");
}

TEST(KubeconfigTest, InClusterNamesWhatIsMissing) {
  TempDir dir;
  dir.Write("ca.crt", "ca");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);

  Result<ClusterAccess> access = LoadInCluster(dir.path().string());

  ASSERT_FALSE(access.ok());
  const std::string& message = access.error().message;
  EXPECT_THAT(message, HasSubstr("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT"));
  EXPECT_THAT(message, HasSubstr((dir.path() / "token").string() + " is missing or empty"));
  EXPECT_THAT(message, HasSubstr("/namespace is missing or empty"));
  EXPECT_THAT(message, Not(HasSubstr("ca.crt cannot be read")));
}

TEST(KubeconfigTest, DefaultPrefersFirstKubeconfigOfTheList) {
  TempDir dir;
  std::string path = dir.Write("config", kInlineConfig);
  ScopedEnv kubeconfig("KUBECONFIG", path + ":" + (dir.path() / "second").string());
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");

  Result<ClusterAccess> access = LoadDefault();

  ASSERT_TRUE(access.ok()) << access.error().message;
  EXPECT_EQ(access->source, "kubeconfig " + path + " (context dev)");
}

TEST(KubeconfigTest, DefaultFallsBackToHomeKubeconfig) {
  TempDir dir;
  ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);
  ScopedEnv home("HOME", dir.path().string());

  Result<ClusterAccess> absent = LoadDefault();
  std::string path = dir.Write(".kube/config", kInlineConfig);
  Result<ClusterAccess> present = LoadDefault();

  ASSERT_FALSE(absent.ok());
  EXPECT_THAT(absent.error().message, HasSubstr("KUBECONFIG and KUBERNETES_SERVICE_HOST"));
  EXPECT_THAT(absent.error().message, HasSubstr(path + " does not exist"));
  ASSERT_TRUE(present.ok()) << present.error().message;
  EXPECT_EQ(present->server, "https://127.0.0.1:6443");
}

TEST(KubeconfigTest, DefaultUsesInClusterWhenServiceHostIsSet) {
  ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");

  Result<ClusterAccess> access = LoadDefault();

  // No service-account folder on a test machine: the error shows in-cluster was tried.
  ASSERT_FALSE(access.ok());
  EXPECT_THAT(access.error().message, HasSubstr("loading in-cluster access failed"));
}

TEST(QueryEscapeTest, EncodesReservedCharacters) {
  EXPECT_EQ(QueryEscape("app=anchor-events,tier in (a b)"),
            "app%3Danchor-events%2Ctier%20in%20%28a%20b%29");
  EXPECT_EQ(QueryEscape("a_b.c~d"), "a_b.c~d");
  EXPECT_EQ(QueryEscape("é/&?"), "%C3%A9%2F%26%3F");
}

}  // namespace
}  // namespace anchor_events::kube
