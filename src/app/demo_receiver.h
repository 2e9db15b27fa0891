// Loopback HTTP receivers for the demo: a business server that checks the JWT and wallets that
// check the Signature header, each recording what it received.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"

namespace anchor_events::app {

struct ReceivedCallback {
  std::string receiver;
  std::string path;
  std::string body;
  std::string event_id;
  bool verified = false;
  std::string problem;  // why verification failed
};

struct ReceiverOptions {
  std::string name;
  std::string account_id;      // wallet: the anchor's G... account
  std::string signature_host;  // wallet: host[:port] the URL was written with
  std::string jwt_secret;      // business server
};

// Thread-safe. Listens on 127.0.0.1 only.
class DemoReceiver {
 public:
  explicit DemoReceiver(ReceiverOptions options);
  ~DemoReceiver();

  // Listens on `port` (127.0.0.1).
  Status Start(int port);
  void Stop();
  std::vector<ReceivedCallback> Received() const;
  // Called for every request, on a server thread.
  void OnReceive(std::function<void(const ReceivedCallback&)> callback);

 private:
  ReceivedCallback Check(const std::string& path, const std::string& body,
                         const std::string& signature, const std::string& authorization,
                         const std::string& event_id) const;
  struct Impl;
  ReceiverOptions options_;
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mutex_;
  std::vector<ReceivedCallback> received_;
  std::function<void(const ReceivedCallback&)> callback_;
};

// Verifies an HS256 JWT: signature, iat not in the future, exp not passed.
Status VerifyHs256(const std::string& token, const std::string& secret, int64_t now);

}  // namespace anchor_events::app
