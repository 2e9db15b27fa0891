// Outbound HTTP for one lane (SPEC §2, §4.3): libcurl's multi interface, keep-alive, a
// per-request deadline, no redirects, at most 64 KiB of a response read, and the SSRF guard
// applied to the address actually connected to.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "delivery/address_guard.h"

namespace anchor_events::delivery {

enum class AttemptResult {
  kDelivered,  // any 2xx
  kRetryable,  // connect/TLS/read errors, timeouts, 3xx, 408, 425, 429, 5xx
  kRejected,   // other 4xx, or a blocked destination
};

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Sent byte for byte; shared with the prepared delivery, so an attempt copies no body.
  std::shared_ptr<const std::string> body;
  std::chrono::milliseconds timeout{10000};
  std::shared_ptr<const AddressGuard> guard;  // null: no guard
  std::string ca_file;                        // empty: the system bundle
  // mTLS: a PEM certificate (chain) and its unencrypted PEM key, both or neither. Files are
  // read for each new connection, so a rotated Secret is used without a restart.
  std::string client_cert_file;
  std::string client_key_file;
  bool verify_tls = true;
};

struct HttpResponse {
  AttemptResult result = AttemptResult::kRetryable;
  long status = 0;       // 0 when no response arrived
  std::string error;     // short cause when not delivered; never contains the URL's query
  std::string blocked;   // the SSRF class when the guard refused the address
  std::string location;  // Location header of a 3xx, for the log
  std::optional<std::chrono::milliseconds> retry_after;
  std::chrono::microseconds duration{0};
  bool new_connection = false;  // false when a kept-alive connection was reused

  // "2xx".."5xx", "error" or "blocked", for metrics.
  std::string StatusClass() const;
  // The same as a number below kStatusClasses, for a caller that keeps a counter per class.
  static constexpr size_t kStatusClasses = 7;
  size_t StatusClassIndex() const;
};

struct SenderOptions {
  // "host:port:address" pins, as curl's --resolve.
  std::vector<std::string> resolve;
  std::string user_agent = "anchor-events";
  long max_host_connections = 0;  // 0: unlimited
};

// Owned and driven by one lane thread; only Wakeup() may be called from another thread.
class HttpSender {
 public:
  explicit HttpSender(SenderOptions options);
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // Starts a request; its response comes back from TakeCompleted with the same token.
  void Start(uint64_t token, HttpRequest request);
  // Aborts a request; its response will not be reported.
  void Cancel(uint64_t token);
  // Waits until a transfer progresses, `extra_fd` (if >= 0) is readable, Wakeup() is called
  // or `timeout` passes, then advances all transfers.
  void Wait(std::chrono::milliseconds timeout, int extra_fd);
  void Wakeup();
  std::vector<std::pair<uint64_t, HttpResponse>> TakeCompleted();
  size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Classification of a status code per SPEC §4.3.
AttemptResult ClassifyStatus(long status);
// Parses a Retry-After value: delta seconds or an HTTP date relative to `now`.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace anchor_events::delivery
