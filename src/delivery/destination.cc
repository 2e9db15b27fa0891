#include "delivery/destination.h"

#include "base/clock.h"
#include "event/body.h"
#include "signing/jwt.h"

namespace anchor_events::delivery {
namespace {

constexpr std::string_view kContentType = "Content-Type: application/json; charset=utf-8";

std::string Header(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(name.size() + value.size() + 2);
  out.append(name).append(": ").append(value);
  return out;
}

}  // namespace

BusinessDestination::BusinessDestination(const config::CallbackApiConfig& config)
    : config_(config) {
  // The configuration was validated at load; an unparsable URL here is a broken invariant.
  event_url_ = AppendPathSegment(ParseUrl(config_.base_url).value(), "event").ToString();
}

std::variant<Prepared, event::SkipReason> BusinessDestination::Prepare(
    const event::Event& event, std::chrono::system_clock::time_point now) const {
  Prepared prepared;
  prepared.url = event_url_;
  prepared.body = event::BuildBusinessBody(event, event::FormatTimestamp(now));
  prepared.event_id = event.id;
  prepared.event_type = std::string(event::TypeName(event.type));
  return prepared;
}

std::vector<std::string> BusinessDestination::AttemptHeaders(
    const Prepared& prepared, std::chrono::system_clock::time_point now) const {
  std::vector<std::string> headers = {std::string(kContentType),
                                      Header(kEventIdHeader, prepared.event_id)};
  switch (config_.auth_type) {
    case config::AuthType::kNone:
      break;
    case config::AuthType::kApiKey:
      headers.push_back(Header(config_.api_key_http_header, config_.secret));
      break;
    case config::AuthType::kJwt: {
      int64_t iat = UnixSeconds(now);
      std::lock_guard<std::mutex> lock(token_mutex_);
      if (iat != token_issued_at_) {
        token_ = signing::MintJwt(config_.secret, iat, config_.jwt_expiration_ms / 1000);
        token_issued_at_ = iat;
      }
      headers.push_back(Header(config_.jwt_http_header, "Bearer " + token_));
      break;
    }
  }
  return headers;
}

ClientDestination::ClientDestination(config::ClientConfig client,
                                     std::shared_ptr<const signing::KeyHolder> keys)
    : client_(std::move(client)), keys_(std::move(keys)) {
  // Validated at load; a secret that does not decode here is a broken invariant.
  for (const std::string* secret : {&client_.webhook_secret, &client_.webhook_secret_previous}) {
    if (!secret->empty()) {
      hmac_keys_.push_back(signing::DecodeWebhookSecret(*secret).value());
    }
  }
}

std::variant<Prepared, event::SkipReason> ClientDestination::Prepare(
    const event::Event& event, std::chrono::system_clock::time_point /*now*/) const {
  event::Route route = event::RouteToClient(event, client_);
  if (route.skip != event::SkipReason::kNone) {
    return route.skip;
  }
  Prepared prepared;
  prepared.signature_host = ParseUrl(route.url).value().SignatureHost();
  prepared.url = std::move(route.url);
  prepared.body = event::BuildClientBody(event);
  prepared.event_id = event.id;
  prepared.event_type = std::string(event::TypeName(event.type));
  return prepared;
}

std::vector<std::string> ClientDestination::AttemptHeaders(
    const Prepared& prepared, std::chrono::system_clock::time_point now) const {
  int64_t t = UnixSeconds(now);
  std::shared_ptr<const signing::SigningKey> key = keys_->Current();
  std::vector<std::string> headers = {
      std::string(kContentType),
      Header(kEventIdHeader, prepared.event_id),
      Header("Signature",
             signing::SignatureHeaderValue(*key, t, prepared.signature_host, prepared.body)),
  };
  if (client_.standard_webhooks) {
    headers.push_back(Header("webhook-id", prepared.event_id));
    headers.push_back(Header("webhook-timestamp", std::to_string(t)));
    headers.push_back(Header("webhook-signature", WebhookSignature(prepared, t, *key)));
  }
  return headers;
}

std::string ClientDestination::WebhookSignature(const Prepared& prepared, int64_t timestamp,
                                                const signing::SigningKey& key) const {
  std::string value;
  auto add = [&value](const std::string& signature) {
    value.append(value.empty() ? "" : " ").append(signature);
  };
  for (const std::string& secret : hmac_keys_) {
    add(signing::StandardWebhookHmacSignature(secret, prepared.event_id, timestamp, prepared.body));
  }
  add(signing::StandardWebhookSignature(key, prepared.event_id, timestamp, prepared.body));
  if (std::shared_ptr<const signing::SigningKey> previous = keys_->Previous()) {
    add(signing::StandardWebhookSignature(*previous, prepared.event_id, timestamp, prepared.body));
  }
  return value;
}

}  // namespace anchor_events::delivery
