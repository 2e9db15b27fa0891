// A real HTTP server on 127.0.0.1 for tests: records requests and answers as the test says.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace anchor_events::testing {

struct RecordedRequest {
  std::string method;
  std::string path;  // with the query, if any
  std::map<std::string, std::string> headers;
  std::string body;
};

struct CannedResponse {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  bool never_answer = false;  // hold the request until the server stops
};

// Thread-safe.
class TestReceiver {
 public:
  using Responder = std::function<CannedResponse(const RecordedRequest&)>;

  TestReceiver();
  ~TestReceiver();

  // Starts on `port`, or a free loopback port when 0.
  void Start(int port = 0);
  void Stop();
  int port() const { return port_; }
  std::string Url(const std::string& path) const;
  void Respond(Responder responder);
  std::vector<RecordedRequest> Requests() const;
  // Waits until at least `count` requests arrived; false on timeout.
  bool WaitFor(size_t count, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace anchor_events::testing
