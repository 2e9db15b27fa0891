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

// The tag of a client name ('n') or of a domain ('d', compared ignoring ASCII case).
uint64_t Tag(char kind, std::string_view text) {
  // FNV-1a: stable across builds, and cheap for short names.
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](char c) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  };
  mix(kind);
  for (char c : text) {
    mix(kind == 'd' ? AsciiLower(c) : c);
  }
  return hash <= kNoClientTag ? hash + 2 : hash;
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

uint64_t AudienceTag(const Event& event) {
  if (event.kind == ObjectKind::kQuote) {
    return kNoClientTag;
  }
  // The same precedence as BelongsTo: a client_name decides alone.
  if (!event.client_name.empty()) {
    return Tag('n', event.client_name);
  }
  if (!event.client_domain.empty()) {
    return Tag('d', event.client_domain);
  }
  return kNoClientTag;
}

std::vector<uint64_t> AudienceTags(const config::ClientConfig& client) {
  std::vector<uint64_t> tags = {Tag('n', client.name)};
  if (client.type == config::ClientType::kNoncustodial) {
    for (const std::string& domain : client.domains) {
      tags.push_back(Tag('d', domain));
    }
  }
  return tags;
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
