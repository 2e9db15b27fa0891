// Which client an event belongs to and where its callback goes (SPEC §4.2).
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "event/event.h"

namespace anchor_events::event {

// Why an event is not sent to a client lane; each has a metric label (SkipReasonLabel).
enum class SkipReason {
  kNone,             // routed: send it
  kUnattributed,     // the event names no client at all
  kOtherClient,      // it belongs to another client
  kNoCallbackUrl,    // the client has no URL for that SEP
  kNotForClients,    // quotes are not sent to clients
};

struct Route {
  SkipReason skip = SkipReason::kNone;
  std::string url;  // set when skip == kNone
};

// True when the event's transaction names this client: client_name == name, or
// (non-custodial) client_domain is one of the client's domains.
bool BelongsTo(const Event& event, const config::ClientConfig& client);

// Routes an event to a client lane. Customers (SEP-12) are routed only when attributed.
Route RouteToClient(const Event& event, const config::ClientConfig& client);

std::string_view SkipReasonLabel(SkipReason reason);

}  // namespace anchor_events::event
