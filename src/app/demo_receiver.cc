#include "app/demo_receiver.h"

#include <rapidjson/document.h>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>

#include "base/clock.h"
#include "delivery/destination.h"
#include "signing/encoding.h"
#include "signing/signer.h"

namespace anchor_events::app {
namespace {

std::optional<std::string> Base64UrlDecode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text.push_back('=');
  return signing::Base64Decode(text);
}

std::string HeaderOf(const web::http::http_request& request, const std::string& name) {
  auto it = request.headers().find(name);
  return it == request.headers().end() ? std::string() : it->second;
}

}  // namespace

Status VerifyHs256(const std::string& token, const std::string& secret, int64_t now) {
  size_t first = token.find('.');
  size_t second = token.find('.', first == std::string::npos ? 0 : first + 1);
  if (first == std::string::npos || second == std::string::npos) {
    return Error{"not a compact JWT"};
  }
  std::string signing_input = token.substr(0, second);
  std::string expected = signing::Base64UrlEncode(signing::HmacSha256(secret, signing_input));
  if (expected != token.substr(second + 1)) {
    return Error{"JWT signature does not match"};
  }
  std::optional<std::string> claims = Base64UrlDecode(token.substr(first + 1, second - first - 1));
  rapidjson::Document doc;
  if (!claims || doc.Parse(claims->c_str()).HasParseError() || !doc.IsObject() ||
      !doc.HasMember("iat") || !doc.HasMember("exp") || !doc["iat"].IsInt64() ||
      !doc["exp"].IsInt64()) {
    return Error{"JWT claims iat and exp missing"};
  }
  if (doc["exp"].GetInt64() < now || doc["iat"].GetInt64() > now + 60) {
    return Error{"JWT expired or issued in the future"};
  }
  return {};
}

struct DemoReceiver::Impl {
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;
};

DemoReceiver::DemoReceiver(ReceiverOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

DemoReceiver::~DemoReceiver() { Stop(); }

void DemoReceiver::OnReceive(std::function<void(const ReceivedCallback&)> callback) {
  std::lock_guard<std::mutex> lock(mutex_);
  callback_ = std::move(callback);
}

ReceivedCallback DemoReceiver::Check(const std::string& path, const std::string& body,
                                     const std::string& signature, const std::string& authorization,
                                     const std::string& event_id) const {
  ReceivedCallback r{options_.name, path, body, event_id, false, ""};
  int64_t now = UnixSeconds(std::chrono::system_clock::now());
  Status status;
  if (!options_.jwt_secret.empty()) {
    status = authorization.rfind("Bearer ", 0) == 0
                 ? VerifyHs256(authorization.substr(7), options_.jwt_secret, now)
                 : Status(Error{"no bearer token"});
  } else {
    status = signing::VerifySignatureHeader(signature, options_.account_id, options_.signature_host,
                                            body, now);
  }
  r.verified = status.ok();
  if (!status.ok()) {
    r.problem = status.error().message;
  }
  return r;
}

Status DemoReceiver::Start(int port) {
  auto uri = web::uri("http://127.0.0.1:" + std::to_string(port) + "/");
  impl_->listener = std::make_unique<web::http::experimental::listener::http_listener>(uri);
  impl_->listener->support(web::http::methods::POST, [this](web::http::http_request request) {
    std::vector<unsigned char> bytes = request.extract_vector().get();
    ReceivedCallback received =
        Check(request.relative_uri().path(), std::string(bytes.begin(), bytes.end()),
              HeaderOf(request, "Signature"), HeaderOf(request, "Authorization"),
              HeaderOf(request, std::string(delivery::kEventIdHeader)));
    std::function<void(const ReceivedCallback&)> callback;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      received_.push_back(received);
      callback = callback_;
    }
    if (callback) {
      callback(received);
    }
    request.reply(web::http::status_codes::OK).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {
      }
    });
  });
  try {
    impl_->listener->open().wait();
  } catch (const std::exception& e) {
    return Error{"demo receiver failed to listen for " + options_.name + ": " + e.what()};
  }
  return {};
}

void DemoReceiver::Stop() {
  if (impl_ && impl_->listener) {
    try {
      impl_->listener->close().wait();
    } catch (...) {
    }
    impl_->listener.reset();
  }
}

std::vector<ReceivedCallback> DemoReceiver::Received() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return received_;
}

}  // namespace anchor_events::app
