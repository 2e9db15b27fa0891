// The Anchor Platform event model (SPEC §3): parsing one Kafka record value into an Event, or
// classifying it as a poison record with a reason.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <rapidjson/document.h>

namespace anchor_events::event {

enum class EventType {
  kTransactionCreated,
  kTransactionStatusChanged,
  kQuoteCreated,
  kCustomerUpdated
};
enum class ObjectKind { kTransaction, kQuote, kCustomer };

// Why a record is poison; each has a stable metric label (PoisonReasonLabel).
enum class PoisonReason {
  kInvalidJson,    // not parseable JSON, not UTF-8, a NUL byte, or nested deeper than 64 levels
  kNotAnObject,    // top level is not a JSON object
  kUnknownType,    // missing, non-string or unknown "type"
  kMissingObject,  // the object the type needs is absent, null or not an object
  kMissingId,      // the object has no non-empty string "id" (no ordering key)
  kTooLarge,       // over the configured maximum size
  kInvalidId,      // an event "id" longer than 256 bytes or holding control characters: it
                   // is sent in HTTP headers (X-Anchor-Event-Id, webhook-id)
};

struct Poison {
  PoisonReason reason;
  std::string detail;         // short, never contains payload values
  std::string event_id = {};  // the record's "id" when it is a JSON object with one
};

// One parsed event. Immutable after parsing; copies share the document, so an Event is cheap to
// copy and safe to read from several threads.
//
// JSON numbers are kept as their original text (1.10 stays 1.10): the document holds them as
// strings, and IsNumber tells them apart from the record's real strings so that bodies write
// them back unquoted.
struct Event {
  std::string id;  // event id ("" when absent)
  EventType type = EventType::kTransactionCreated;
  std::string sep;  // event-level "sep" ("" when absent)
  ObjectKind kind = ObjectKind::kTransaction;
  std::string key;  // ordering key: the object's id
  // Attribution: "client_name" and "client_domain" of the transaction, or of the customer
  // object when it carries them (the Platform's customer objects do not, so customer events are
  // normally unattributed). Empty when absent and always empty for quotes.
  std::string client_name;
  std::string client_domain;
  // The transaction's "sep", else the event-level sep; empty for quotes and customers.
  std::string transaction_sep;
  std::shared_ptr<const rapidjson::Document> document;
  // Addresses of the document's strings that were numbers in the record, sorted; shares
  // ownership with `document`. Null when the event was not built by ParseEvent.
  std::shared_ptr<const std::vector<const char*>> number_texts;
  size_t record_size = 0;  // bytes of the record value; a size hint for bodies

  // The transaction, quote or customer object. Requires an Event built by ParseEvent.
  const rapidjson::Value& Object() const;
  // True when `value` (a value of `document`) was a JSON number in the record.
  bool IsNumber(const rapidjson::Value& value) const;
};

using ParseResult = std::variant<Event, Poison>;

// Parses a record value. Accepts the type in any letter case (QUOTE_CREATED). Unknown keys are
// ignored. Never throws; every malformed input comes back as a Poison.
ParseResult ParseEvent(std::string_view value, size_t max_bytes = 1 << 20);

// Lower-case wire name of a type, e.g. "transaction_status_changed".
std::string_view TypeName(EventType type);
// Key of the object in the event and in the business payload: "transaction", "quote" or
// "customer". NUL-terminated.
std::string_view ObjectName(ObjectKind kind);
// Metric label of a poison reason, e.g. "invalid_json".
std::string_view PoisonReasonLabel(PoisonReason reason);

}  // namespace anchor_events::event
