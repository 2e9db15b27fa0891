// The client against a real local HTTPS server (tests/kube/fake_apiserver.py, Python standard
// library, certificates made with the openssl CLI).
#include "kube/client.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/python_helper.h"

namespace anchor_events::kube {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size())
      n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// fake_apiserver.py in a child process; it ends when its stdin closes.
class FakeApiServer {
 public:
  bool Start() {
    std::string line = helper_.Start(ANCHOR_EVENTS_FAKE_APISERVER, "kube_client_test");
    if (line.rfind("PORT ", 0) != 0) return false;
    port_ = std::stoi(line.substr(5));
    return true;
  }

  std::string server() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string File(const std::string& name) const { return (helper_.dir() / name).string(); }

 private:
  anchor_events::testing::PythonHelper helper_;
  int port_ = 0;
};

class ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new FakeApiServer();
    ASSERT_TRUE(server_->Start()) << "fake_apiserver.py did not start";
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  ClusterAccess Access() const {
    ClusterAccess access;
    access.server = server_->server();
    access.ca_file = server_->File("ca.crt");
    return access;
  }

  static FakeApiServer* server_;
};

FakeApiServer* ClientTest::server_ = nullptr;

struct WatchLog {
  std::vector<std::string> lines;
  std::vector<steady_clock::time_point> at;

  std::function<void(std::string_view)> Sink() {
    return [this](std::string_view line) {
      lines.emplace_back(line);
      at.push_back(steady_clock::now());
    };
  }
};

TEST_F(ClientTest, RequestSendsBearerTokenAndReturnsBody) {
  ClusterAccess access = Access();
  access.token = "token-abc-123";
  Client client(access);

  Result<Response> response = client.Request("GET", "/echo?limit=5");

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr(R"("authorization": "Bearer token-abc-123")"));
  EXPECT_THAT(response->body, HasSubstr(R"("accept": "application/json")"));
  EXPECT_THAT(response->body, HasSubstr(R"("path": "/echo?limit=5")"));
  EXPECT_THAT(response->body, HasSubstr(R"("user-agent": "anchor-events-operator")"));
}

TEST_F(ClientTest, RequestSendsMethodBodyAndContentType) {
  Client client(Access());

  Result<Response> response =
      client.Request("PATCH", "/echo", R"({"a":1})", "application/merge-patch+json");

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_THAT(response->body, HasSubstr(R"("method": "PATCH")"));
  EXPECT_THAT(response->body, HasSubstr(R"("body": "{\"a\":1}")"));
  EXPECT_THAT(response->body, HasSubstr(R"("content-type": "application/merge-patch+json")"));
  EXPECT_THAT(response->body, Not(HasSubstr("authorization")));
}

TEST_F(ClientTest, ReadsTokenFileAgainWhenItChanges) {
  std::string token_file = server_->File("rotating-token");
  std::ofstream(token_file) << "first-token\n";
  ClusterAccess access = Access();
  access.token_file = token_file;
  Client client(access);

  Result<Response> before = client.Request("GET", "/echo");
  std::ofstream(token_file) << "second-token-after-rotation\n";
  Result<Response> after = client.Request("GET", "/echo");

  ASSERT_TRUE(before.ok()) << before.error().message;
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_THAT(before->body, HasSubstr("Bearer first-token\""));
  EXPECT_THAT(after->body, HasSubstr("Bearer second-token-after-rotation\""));
}

TEST_F(ClientTest, PresentsInlineClientCertificate) {
  ClusterAccess access = Access();
  access.ca_file.clear();
  access.ca_pem = ReadFile(server_->File("ca.crt"));
  access.client_cert_pem = ReadFile(server_->File("client.crt"));
  access.client_key_pem = ReadFile(server_->File("client.key"));
  Client client(access);

  Result<Response> response = client.Request("GET", "/client-cert");

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("test-user"));
}

TEST_F(ClientTest, PresentsClientCertificateFromFiles) {
  ClusterAccess access = Access();
  access.client_cert_file = server_->File("client.crt");
  access.client_key_file = server_->File("client.key");
  Client client(access);

  Result<Response> with_cert = client.Request("GET", "/client-cert");
  Result<Response> without_cert = Client(Access()).Request("GET", "/client-cert");

  ASSERT_TRUE(with_cert.ok()) << with_cert.error().message;
  EXPECT_EQ(with_cert->status, 200);
  ASSERT_TRUE(without_cert.ok()) << without_cert.error().message;
  EXPECT_EQ(without_cert->status, 401);
}

TEST_F(ClientTest, WorksFromKubeconfigWithInlineData) {
  std::string path = server_->File("kubeconfig");
  std::ofstream(path) << "current-context: c\n"
                      << "clusters: [{name: k, cluster: {server: \"" << server_->server()
                      << "/\", certificate-authority-data: "
                      << Base64(ReadFile(server_->File("ca.crt"))) << "}}]\n"
                      << "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                      << "users: [{name: u, user: {client-certificate-data: "
                      << Base64(ReadFile(server_->File("client.crt")))
                      << ", client-key-data: " << Base64(ReadFile(server_->File("client.key")))
                      << "}}]\n";
  Result<ClusterAccess> access = LoadKubeconfig(path);
  ASSERT_TRUE(access.ok()) << access.error().message;
  Client client(*access);

  Result<Response> response = client.Request("GET", "/client-cert");

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(ClientTest, UnknownServerCertificateIsErrorWithoutSecrets) {
  ClusterAccess access = Access();
  access.ca_file.clear();  // the system bundle does not know the test CA
  access.token = "never-in-errors";
  access.client_key_pem = ReadFile(server_->File("client.key"));
  access.client_cert_pem = ReadFile(server_->File("client.crt"));
  Client client(access);

  Result<Response> response = client.Request("GET", "/echo");

  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message, HasSubstr("kube API request failed for GET /echo"));
  EXPECT_THAT(response.error().message, Not(HasSubstr("never-in-errors")));
  EXPECT_THAT(response.error().message, Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(ClientTest, InsecureSkipTlsVerifyAcceptsUnknownCertificate) {
  ClusterAccess access = Access();
  access.ca_file.clear();
  access.insecure_skip_tls_verify = true;
  Client client(access);

  Result<Response> response = client.Request("GET", "/echo");

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(ClientTest, ConnectFailureIsError) {
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bind(probe, reinterpret_cast<sockaddr*>(&address), length);
  getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  close(probe);  // nothing listens on this port now
  ClusterAccess access = Access();
  access.server = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  access.token = "never-in-errors";
  Client client(access);

  Result<Response> response = client.Request("GET", "/version");

  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message, HasSubstr(access.server));
  EXPECT_THAT(response.error().message, Not(HasSubstr("never-in-errors")));
}

TEST_F(ClientTest, MissingTokenFileIsError) {
  ClusterAccess access = Access();
  access.token_file = server_->File("no-such-token");
  Client client(access);

  Result<Response> response = client.Request("GET", "/echo");

  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message,
              HasSubstr("reading the bearer token failed for " + access.token_file));
}

TEST_F(ClientTest, RequestRefusesBodyOver16MiB) {
  Client client(Access());

  Result<Response> response = client.Request("GET", "/big");

  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message, HasSubstr("response body over 16 MiB"));
}

TEST_F(ClientTest, ErrorStatusIsResponse) {
  Client client(Access());
  WatchLog log;

  Result<Response> request = client.Request("GET", "/gone");
  Result<Response> watch = client.Watch("/gone?watch=1", log.Sink(), [] { return false; });

  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->status, 410);
  EXPECT_THAT(request->body, HasSubstr("too old resource version"));
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  EXPECT_EQ(watch->status, 410);
  EXPECT_THAT(watch->body, HasSubstr("too old resource version"));
  EXPECT_TRUE(log.lines.empty());
}

TEST_F(ClientTest, WatchDeliversLinesAsTheyArriveAndStopsPromptly) {
  Client client(Access());
  WatchLog log;
  steady_clock::time_point stop_at = steady_clock::time_point::max();
  // Stop during a quiet stretch, 100 ms after the second line, so that only polling sees it.
  auto stopping = [&] {
    if (log.at.size() == 2 && stop_at == steady_clock::time_point::max()) {
      stop_at = log.at[1] + milliseconds(100);
    }
    return steady_clock::now() >= stop_at;
  };

  Result<Response> response = client.Watch("/watch-stream?watch=1", log.Sink(), stopping);
  steady_clock::time_point returned = steady_clock::now();

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 0);
  EXPECT_THAT(log.lines, ElementsAre(R"({"type":"ADDED","n":1})", R"({"type":"MODIFIED","n":2})"));
  ASSERT_EQ(log.at.size(), 2u);
  EXPECT_GE(log.at[1] - log.at[0], milliseconds(250));  // the first line came before the second
  EXPECT_LT(returned - stop_at, milliseconds(200));
}

TEST_F(ClientTest, WatchReturnsWhenServerEndsStream) {
  Client client(Access());
  WatchLog log;

  Result<Response> response = client.Watch("/watch-end?watch=1", log.Sink(), [] { return false; });

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "");
  EXPECT_THAT(log.lines, ElementsAre(R"({"n":1})", R"({"n":2})"));
}

TEST_F(ClientTest, WatchReportsSilentConnectionAsError) {
  Client client(Access());
  WatchLog log;
  steady_clock::time_point start = steady_clock::now();

  Result<Response> response = client.Watch(
      "/watch-silent?watch=1", log.Sink(), [] { return false; }, milliseconds(1000));

  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message, HasSubstr("idle timeout"));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace anchor_events::kube
