// What a lane sends for an event, and the headers of each attempt (SPEC §4, §5): the business
// server (every event, JWT or API key) or one client application (its own events, signed).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "base/url.h"
#include "config/config.h"
#include "event/event.h"
#include "event/routing.h"
#include "signing/key_holder.h"
#include "signing/signer.h"

namespace anchor_events::delivery {

// One event made ready to send: the URL and the exact body bytes. Immutable; shared by all
// attempts so the signed bytes are the sent bytes.
struct Prepared {
  std::string url;
  std::string signature_host;
  std::string body;
  std::string event_id;
  std::string event_type;
};

// The header carrying the event id, so a receiver can de-duplicate.
inline constexpr std::string_view kEventIdHeader = "X-Anchor-Event-Id";

// Thread-compatible: used by one lane thread.
class Destination {
 public:
  virtual ~Destination() = default;
  // What to send for `event`, or why nothing is sent.
  virtual std::variant<Prepared, event::SkipReason> Prepare(
      const event::Event& event, std::chrono::system_clock::time_point now) const = 0;
  // The headers of one attempt, authenticated afresh at `now`.
  virtual std::vector<std::string> AttemptHeaders(
      const Prepared& prepared, std::chrono::system_clock::time_point now) const = 0;
};

// The business server (§4.1).
class BusinessDestination : public Destination {
 public:
  explicit BusinessDestination(const config::CallbackApiConfig& config);
  std::variant<Prepared, event::SkipReason> Prepare(
      const event::Event& event, std::chrono::system_clock::time_point now) const override;
  std::vector<std::string> AttemptHeaders(const Prepared& prepared,
                                          std::chrono::system_clock::time_point now) const override;

 private:
  config::CallbackApiConfig config_;
  std::string event_url_;
  // The token depends only on the secret and the second it is minted in, so one is minted per
  // second rather than per request.
  mutable std::mutex token_mutex_;
  mutable int64_t token_issued_at_ = -1;
  mutable std::string token_;
};

// One client application (§4.2, §5). With standard_webhooks, webhook-signature carries
// "v1,<hmac>" per configured secret (current, then previous during a rotation) and "v1a,<ed25519>"
// per anchor key (current, then previous), space-separated, as Standard Webhooks allows.
class ClientDestination : public Destination {
 public:
  // `keys` is shared with the processor, which replaces the key when the seed is rotated.
  ClientDestination(config::ClientConfig client, std::shared_ptr<const signing::KeyHolder> keys);
  std::variant<Prepared, event::SkipReason> Prepare(
      const event::Event& event, std::chrono::system_clock::time_point now) const override;
  std::vector<std::string> AttemptHeaders(const Prepared& prepared,
                                          std::chrono::system_clock::time_point now) const override;

 private:
  std::string WebhookSignature(const Prepared& prepared, int64_t timestamp,
                               const signing::SigningKey& key) const;

  config::ClientConfig client_;
  std::shared_ptr<const signing::KeyHolder> keys_;
  // Decoded Standard Webhooks v1 secrets, newest first; empty when v1 is off.
  std::vector<std::string> hmac_keys_;
};

}  // namespace anchor_events::delivery
