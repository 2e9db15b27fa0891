#include "ops/management_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>

namespace anchor_events::ops {
namespace {

using web::http::http_request;
using web::http::methods;
using web::http::status_codes;

void Reply(const http_request& request, web::http::status_code code, const std::string& body,
           const std::string& content_type) {
  web::http::http_response response(code);
  response.set_body(body, content_type);
  response.headers().add("Cache-Control", "no-store");
  request.reply(response).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (...) {
      // The client went away; nothing to do.
    }
  });
}

void ReplyProbe(const http_request& request, const Probe& probe) {
  Reply(request, probe.ok ? status_codes::OK : status_codes::ServiceUnavailable,
        (probe.ok ? "ok" : "not ok") + (probe.detail.empty() ? "" : ": " + probe.detail) + "\n",
        "text/plain; charset=utf-8");
}

}  // namespace

struct ManagementServer::Impl {
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;
};

ManagementServer::ManagementServer(std::string address, int port, ManagementHandlers handlers)
    : address_(std::move(address)), port_(port), handlers_(std::move(handlers)) {}

ManagementServer::~ManagementServer() { Stop(); }

Status ManagementServer::Start() {
  if (port_ == 0) {
    Result<int> picked = PickFreePort(address_);
    if (!picked.ok()) {
      return picked.error();
    }
    port_ = *picked;
  }
  std::string host = address_.find(':') != std::string::npos ? "[" + address_ + "]" : address_;
  auto uri = web::uri("http://" + host + ":" + std::to_string(port_) + "/");
  impl_ = std::make_unique<Impl>();
  impl_->listener = std::make_unique<web::http::experimental::listener::http_listener>(uri);
  impl_->listener->support(methods::GET, [this](const http_request& request) {
    const std::string path = request.relative_uri().path();
    if (path == "/metrics") {
      Reply(request, status_codes::OK, handlers_.metrics(), "text/plain; version=0.0.4");
    } else if (path == "/livez") {
      ReplyProbe(request, handlers_.live());
    } else if (path == "/readyz") {
      ReplyProbe(request, handlers_.ready());
    } else if (path == "/status") {
      Reply(request, status_codes::OK, handlers_.status(), "application/json");
    } else {
      Reply(request, status_codes::NotFound, "not found\n", "text/plain; charset=utf-8");
    }
  });
  try {
    impl_->listener->open().wait();
  } catch (const std::exception& e) {
    impl_.reset();
    return Error{"management server failed to listen for " + address_ + ":" +
                 std::to_string(port_) + ": " + e.what()};
  }
  return {};
}

void ManagementServer::Stop() {
  if (impl_ && impl_->listener) {
    try {
      impl_->listener->close().wait();
    } catch (...) {
      // Closing a listener that failed half-way may throw; the process is stopping anyway.
    }
  }
  impl_.reset();
}

Result<int> PickFreePort(const std::string& address) {
  bool v6 = address.find(':') != std::string::npos;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return Error{"picking a free port failed for " + address + ": socket() failed"};
  }
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
    length = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, address.c_str(), &a->sin_addr);
    length = sizeof(*a);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    close(fd);
    return Error{"picking a free port failed for " + address + ": bind failed"};
  }
  int port = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port)
                : ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  close(fd);
  return port;
}

}  // namespace anchor_events::ops
