#include "support/test_receiver.h"

#include <chrono>
#include <condition_variable>
#include <thread>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>

#include "ops/management_server.h"

namespace anchor_events::testing {

struct TestReceiver::Impl {
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;
  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  std::vector<RecordedRequest> requests;
  std::vector<web::http::http_request> held;
  Responder responder = [](const RecordedRequest&) { return CannedResponse{}; };
};

TestReceiver::TestReceiver() : impl_(std::make_unique<Impl>()) {}

TestReceiver::~TestReceiver() { Stop(); }

void TestReceiver::Start(int port) {
  port_ = port != 0 ? port : *ops::PickFreePort("127.0.0.1");
  impl_->listener = std::make_unique<web::http::experimental::listener::http_listener>(
      web::uri("http://127.0.0.1:" + std::to_string(port_) + "/"));
  impl_->listener->support([this](web::http::http_request request) {
    RecordedRequest recorded;
    recorded.method = request.method();
    recorded.path = request.relative_uri().to_string();
    for (const auto& [name, value] : request.headers()) {
      recorded.headers[name] = value;
    }
    std::vector<unsigned char> bytes = request.extract_vector().get();
    recorded.body.assign(bytes.begin(), bytes.end());
    Responder responder;
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      responder = impl_->responder;
    }
    CannedResponse canned = responder(recorded);
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      impl_->requests.push_back(recorded);
      if (canned.never_answer) {
        impl_->held.push_back(request);
      }
    }
    impl_->arrived.notify_all();
    if (canned.never_answer) {
      return;
    }
    web::http::http_response response(static_cast<web::http::status_code>(canned.status));
    for (const auto& [name, value] : canned.headers) {
      response.headers().add(name, value);
    }
    response.set_body(canned.body);
    request.reply(response).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {
      }
    });
  });
  impl_->listener->open().wait();
}

void TestReceiver::Stop() {
  if (!impl_->listener) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (auto& request : impl_->held) {
      request.reply(web::http::status_codes::ServiceUnavailable).then([](pplx::task<void> t) {
        try {
          t.get();
        } catch (...) {
        }
      });
    }
    impl_->held.clear();
  }
  try {
    impl_->listener->close().wait();
  } catch (...) {
  }
  impl_->listener.reset();
}

std::string TestReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void TestReceiver::Respond(Responder responder) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->responder = std::move(responder);
}

std::vector<RecordedRequest> TestReceiver::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->requests;
}

bool TestReceiver::WaitFor(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->requests.size() >= count; });
}

}  // namespace anchor_events::testing
