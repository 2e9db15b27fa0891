// Which client an event belongs to and where its callback goes (SPEC §4.2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "event/event.h"

namespace anchor_events::event {

// Why an event is not sent to a client lane; each has a metric label (SkipReasonLabel).
enum class SkipReason {
  kNone,           // routed: send it
  kUnattributed,   // the event names no client at all
  kOtherClient,    // it belongs to another client
  kNoCallbackUrl,  // the client has no URL for that SEP
  kNotForClients,  // quotes are not sent to clients
};

struct Route {
  SkipReason skip = SkipReason::kNone;
  std::string url;  // set when skip == kNone
};

// True when the event names this client: its client_name equals the client's name, or, when
// the event has no client_name, the client is non-custodial and the event's client_domain is one
// of its domains (compared ignoring ASCII case, as host names are). A client_name naming another
// client wins over a matching domain, so one wallet's transaction never reaches another wallet.
bool BelongsTo(const Event& event, const config::ClientConfig& client);

// Routes an event to a client lane, checking in this order: quotes are not for clients; an event
// with neither client_name nor client_domain is unattributed; one that does not belong to this
// client is another client's; then the URL by protocol (transaction sep 6/24/31, customer_updated
// -> sep12) must be configured.
//
// Customers (SEP-12) are routed only when attributed. The Platform's customer objects carry no
// client fields, so its customer_updated events are unattributed and go to no wallet; a customer
// object that does carry client_name/client_domain is attributed like a transaction.
Route RouteToClient(const Event& event, const config::ClientConfig& client);

std::string_view SkipReasonLabel(SkipReason reason);

// Who an event is for, as one number, so the shared fetch wakes a wallet's lane at once only for
// events that may be its own (the others it skips later, in a batch). An event RouteToClient
// sends to a client always carries one of AudienceTags(client); the converse need not hold, and
// two names may share a tag: a tag decides only when a lane wakes, never what it sends.
// kNoClientTag: an event no client lane sends (a quote, or one naming no client). Tags are never
// 0, which the shared fetch keeps for records every lane must see at once.
inline constexpr uint64_t kNoClientTag = 1;
uint64_t AudienceTag(const Event& event);
std::vector<uint64_t> AudienceTags(const config::ClientConfig& client);

}  // namespace anchor_events::event
