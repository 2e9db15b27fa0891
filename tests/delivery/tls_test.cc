// The sender's TLS against real local HTTPS receivers (tests/delivery/tls_receiver.py, Python
// standard library, certificates made by the openssl CLI): verification on by default, a
// custom CA, mTLS, and a replaced CA file taking effect at the next connection.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "delivery/http_sender.h"
#include "support/python_helper.h"

namespace anchor_events::delivery {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// tls_receiver.py in a child process; it ends when its stdin closes.
class TlsReceivers {
 public:
  bool Start() {
    std::string line = helper_.Start(ANCHOR_EVENTS_TLS_RECEIVER, "tls_test");
    return std::sscanf(line.c_str(), "PORTS %d %d", &tls_port_, &mtls_port_) == 2;
  }

  std::string File(const std::string& name) const { return (helper_.dir() / name).string(); }
  std::string TlsUrl() const { return "https://127.0.0.1:" + std::to_string(tls_port_) + "/cb"; }
  std::string MtlsUrl() const { return "https://127.0.0.1:" + std::to_string(mtls_port_) + "/cb"; }

  // POSTs received so far by the plain TLS server and the mTLS server, read over a trusted
  // connection of the test's own.
  std::pair<int, int> Posts() const {
    CURL* curl = curl_easy_init();
    std::string body;
    std::string url = "https://127.0.0.1:" + std::to_string(tls_port_) + "/count";
    std::string ca = File("ca.crt");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
          static_cast<std::string*>(out)->append(data, size * count);
          return size * count;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    std::pair<int, int> posts{-1, -1};
    if (code == CURLE_OK) {
      std::istringstream(body) >> posts.first >> posts.second;
    }
    return posts;
  }

 private:
  anchor_events::testing::PythonHelper helper_;
  int tls_port_ = 0;
  int mtls_port_ = 0;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(receivers_.Start()) << "tls_receiver.py did not start"; }

  static HttpResponse SendWith(HttpSender& sender, HttpRequest request) {
    request.body = std::make_shared<const std::string>("{}");
    request.timeout = milliseconds(5000);
    sender.Start(1, std::move(request));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      sender.Wait(milliseconds(100), -1);
      auto done = sender.TakeCompleted();
      if (!done.empty()) {
        return done.front().second;
      }
    }
    ADD_FAILURE() << "no response";
    return {};
  }

  static HttpResponse Send(HttpRequest request) {
    HttpSender sender({});
    return SendWith(sender, std::move(request));
  }

  HttpRequest To(const std::string& url) const {
    HttpRequest request;
    request.url = url;
    return request;
  }

  TlsReceivers receivers_;
};

TEST_F(TlsTest, CertificateFromAnUnknownCaIsRefusedByDefault) {
  HttpResponse response = Send(To(receivers_.TlsUrl()));

  EXPECT_EQ(response.result, AttemptResult::kRetryable);
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error.find("certificate"), std::string::npos) << response.error;
  EXPECT_EQ(receivers_.Posts(), std::make_pair(0, 0));
}

TEST_F(TlsTest, CustomCaBundleIsTrusted) {
  HttpRequest request = To(receivers_.TlsUrl());
  request.ca_file = receivers_.File("ca.crt");

  HttpResponse response = Send(request);

  EXPECT_EQ(response.result, AttemptResult::kDelivered) << response.error;
  EXPECT_EQ(receivers_.Posts(), std::make_pair(1, 0));
}

TEST_F(TlsTest, OtherCaBundleDoesNotTrustTheServer) {
  HttpRequest request = To(receivers_.TlsUrl());
  request.ca_file = receivers_.File("other-ca.crt");

  HttpResponse response = Send(request);

  EXPECT_EQ(response.result, AttemptResult::kRetryable);
  EXPECT_EQ(receivers_.Posts(), std::make_pair(0, 0));
}

TEST_F(TlsTest, ServerThatRequiresAClientCertificateRefusesAnAttemptWithout) {
  HttpRequest request = To(receivers_.MtlsUrl());
  request.ca_file = receivers_.File("ca.crt");

  HttpResponse response = Send(request);

  EXPECT_NE(response.result, AttemptResult::kDelivered);
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(receivers_.Posts(), std::make_pair(0, 0));
}

TEST_F(TlsTest, ClientCertificateIsPresented) {
  HttpRequest request = To(receivers_.MtlsUrl());
  request.ca_file = receivers_.File("ca.crt");
  request.client_cert_file = receivers_.File("client.crt");
  request.client_key_file = receivers_.File("client.key");

  HttpResponse response = Send(request);

  EXPECT_EQ(response.result, AttemptResult::kDelivered) << response.error;
  EXPECT_EQ(response.status, 200);  // 403 when the server saw another certificate
  EXPECT_EQ(receivers_.Posts(), std::make_pair(0, 1));
}

TEST_F(TlsTest, ReplacedCaFileCountsAtTheNextConnectionOfTheSameSender) {
  std::string bundle = receivers_.File("mounted-ca.crt");
  fs::copy_file(receivers_.File("other-ca.crt"), bundle);
  HttpRequest request = To(receivers_.TlsUrl());
  request.ca_file = bundle;
  HttpSender sender({});

  HttpResponse before = SendWith(sender, request);
  fs::copy_file(receivers_.File("ca.crt"), bundle, fs::copy_options::overwrite_existing);
  HttpResponse after = SendWith(sender, request);

  EXPECT_EQ(before.result, AttemptResult::kRetryable);
  EXPECT_EQ(after.result, AttemptResult::kDelivered) << after.error;
  EXPECT_EQ(receivers_.Posts(), std::make_pair(1, 0));
}

}  // namespace
}  // namespace anchor_events::delivery
