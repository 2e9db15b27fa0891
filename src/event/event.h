// The Anchor Platform event model (SPEC §3): parsing one Kafka record value into an Event, or
// classifying it as a poison record with a reason.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <rapidjson/document.h>

namespace anchor_events::event {

enum class EventType { kTransactionCreated, kTransactionStatusChanged, kQuoteCreated, kCustomerUpdated };
enum class ObjectKind { kTransaction, kQuote, kCustomer };

// Why a record is poison; each has a stable metric label (PoisonReasonLabel).
enum class PoisonReason {
  kInvalidJson,     // not parseable JSON (or not UTF-8)
  kNotAnObject,     // top level is not a JSON object
  kUnknownType,     // missing or unknown "type"
  kMissingObject,   // the object the type needs is absent, null or not an object
  kMissingId,       // the object has no string "id" (no ordering key)
  kTooLarge,        // over the configured maximum size
};

struct Poison {
  PoisonReason reason;
  std::string detail;  // short, never contains payload values
};

// One parsed event. The JSON document keeps numbers as their original text so that bodies
// built from it reproduce them exactly. Immutable after parsing; shareable across threads.
struct Event {
  std::string id;     // event id ("" when absent)
  EventType type;
  std::string sep;    // event-level "sep" ("" when absent)
  ObjectKind kind;
  std::string key;    // ordering key: the object's id
  // Transaction attribution and protocol (empty for quotes and customers).
  std::string client_name;
  std::string client_domain;
  std::string transaction_sep;
  std::shared_ptr<const rapidjson::Document> document;

  // The transaction, quote or customer object.
  const rapidjson::Value& Object() const;
};

using ParseResult = std::variant<Event, Poison>;

// Parses a record value. Accepts upper-case type spellings. Unknown keys are ignored.
ParseResult ParseEvent(std::string_view value, size_t max_bytes = 1 << 20);

// Lower-case wire name of a type, e.g. "transaction_status_changed".
std::string_view TypeName(EventType type);
// Metric label of a poison reason, e.g. "invalid_json".
std::string_view PoisonReasonLabel(PoisonReason reason);

}  // namespace anchor_events::event
