#include "event/routing.h"

#include <algorithm>

#include "event/ascii.h"

namespace anchor_events::event {
namespace {

bool HasDomain(const config::ClientConfig& client, std::string_view domain) {
  return std::any_of(client.domains.begin(), client.domains.end(),
                     [&](const std::string& d) { return EqualsIgnoreAsciiCase(d, domain); });
}

// The configured URL for the event's protocol; empty when there is none.
const std::string& CallbackUrlFor(const Event& event, const config::CallbackUrls& urls) {
  static const std::string kNone;
  if (event.kind == ObjectKind::kCustomer) {
    return urls.sep12;
  }
  const std::string& sep = event.transaction_sep;
  if (sep == "6") {
    return urls.sep6;
  }
  if (sep == "24") {
    return urls.sep24;
  }
  if (sep == "31") {
    return urls.sep31;
  }
  return kNone;
}

Route Skipped(SkipReason reason) {
  Route route;
  route.skip = reason;
  return route;
}

}  // namespace

bool BelongsTo(const Event& event, const config::ClientConfig& client) {
  if (!event.client_name.empty()) {
    return event.client_name == client.name;
  }
  return client.type == config::ClientType::kNoncustodial && !event.client_domain.empty() &&
         HasDomain(client, event.client_domain);
}

Route RouteToClient(const Event& event, const config::ClientConfig& client) {
  if (event.kind == ObjectKind::kQuote) {
    return Skipped(SkipReason::kNotForClients);
  }
  if (event.client_name.empty() && event.client_domain.empty()) {
    return Skipped(SkipReason::kUnattributed);
  }
  if (!BelongsTo(event, client)) {
    return Skipped(SkipReason::kOtherClient);
  }
  const std::string& url = CallbackUrlFor(event, client.callback_urls);
  if (url.empty()) {
    return Skipped(SkipReason::kNoCallbackUrl);
  }
  Route route;
  route.url = url;
  return route;
}

std::string_view SkipReasonLabel(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNone:
      return "none";
    case SkipReason::kUnattributed:
      return "unattributed";
    case SkipReason::kOtherClient:
      return "other_client";
    case SkipReason::kNoCallbackUrl:
      return "no_callback_url";
    case SkipReason::kNotForClients:
      return "not_for_clients";
  }
  return "unknown";
}

}  // namespace anchor_events::event
