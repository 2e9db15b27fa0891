// The management port (SPEC §9): /metrics, /livez, /readyz and /status over HTTP.
// cpprestsdk is kept out of this header: it is slow to compile and its macros clash.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"

namespace anchor_events::ops {

struct Probe {
  bool ok = false;
  std::string detail;  // plain text, shown in the response body
};

// What the server answers with; each callback is called on a server thread and must be
// thread-safe and quick.
struct ManagementHandlers {
  std::function<std::string()> metrics;  // Prometheus text
  std::function<Probe()> live;
  std::function<Probe()> ready;
  std::function<std::string()> status;  // JSON document
};

class ManagementServer {
 public:
  ManagementServer(std::string address, int port, ManagementHandlers handlers);
  ~ManagementServer();
  ManagementServer(const ManagementServer&) = delete;
  ManagementServer& operator=(const ManagementServer&) = delete;

  // Binds and starts serving. Port 0 picks a free port (see port()).
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::string address_;
  int port_;
  ManagementHandlers handlers_;
  std::unique_ptr<Impl> impl_;
};

// Binds port 0 on `address`, returns the port the kernel chose and releases it.
Result<int> PickFreePort(const std::string& address);

}  // namespace anchor_events::ops
