#include "event/event.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "event/ascii.h"

namespace anchor_events::event {
namespace {

using rapidjson::SizeType;

// In place: the record is copied once and strings are decoded inside that copy, so parsing
// allocates only the document's tree.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseNumbersAsStringsFlag;

// Platform events nest about five levels. The bound keeps hostile records from exhausting the
// stack of the recursive parser and of the body writers.
constexpr int kMaxDepth = 64;

struct TypeSpelling {
  EventType type;
  std::string_view name;
};

constexpr TypeSpelling kTypes[] = {
    {EventType::kTransactionCreated, "transaction_created"},
    {EventType::kTransactionStatusChanged, "transaction_status_changed"},
    {EventType::kQuoteCreated, "quote_created"},
    {EventType::kCustomerUpdated, "customer_updated"},
};

// Everything an Event's document points into, freed together when the last Event copy goes.
struct Record {
  // rapidjson's UTF-8 validation takes every byte of a multi-byte sequence before judging it, so a
  // sequence cut off at the end of the record reads up to three bytes past the last one; the
  // padding keeps those reads inside the buffer (fuzz/regressions/event).
  static constexpr size_t kPadding = 3;

  explicit Record(std::string_view value)
      : text(value), allocator(std::max<size_t>(1024, 2 * value.size())), document(&allocator) {
    text.append(kPadding, '\0');
  }

  size_t size() const { return text.size() - kPadding; }

  std::string text;  // the value, then kPadding NULs; parsed in place: the document's strings
                     // point into it
  rapidjson::MemoryPoolAllocator<> allocator;
  rapidjson::Document document;
  std::vector<const char*> number_texts;  // sorted after parsing
};

// Forwards SAX events to the document, remembering which strings were numbers and refusing
// nesting deeper than kMaxDepth.
class DocumentBuilder {
 public:
  DocumentBuilder(rapidjson::Document& document, Record& record)
      : document_(document), record_(record) {}

  bool Null() { return document_.Null(); }
  bool Bool(bool b) { return document_.Bool(b); }
  // Never called with kParseNumbersAsStringsFlag; required by the handler concept.
  bool Int(int i) { return document_.Int(i); }
  bool Uint(unsigned i) { return document_.Uint(i); }
  bool Int64(int64_t i) { return document_.Int64(i); }
  bool Uint64(uint64_t i) { return document_.Uint64(i); }
  bool Double(double d) { return document_.Double(d); }

  bool RawNumber(const char* text, SizeType length, bool /*copy*/) {
    // In place, a number's text is not NUL-terminated (the next token follows it), so it gets a
    // terminated copy in the pool; the copy's address is what marks it as a number.
    auto* copy = static_cast<char*>(record_.allocator.Malloc(length + 1));
    std::memcpy(copy, text, length);
    copy[length] = '\0';
    record_.number_texts.push_back(copy);
    return document_.String(copy, length, false);
  }

  bool String(const char* s, SizeType length, bool copy) {
    return document_.String(s, length, copy);
  }
  bool Key(const char* s, SizeType length, bool copy) { return document_.Key(s, length, copy); }
  bool StartObject() { return Enter() && document_.StartObject(); }
  bool EndObject(SizeType count) { return Leave() && document_.EndObject(count); }
  bool StartArray() { return Enter() && document_.StartArray(); }
  bool EndArray(SizeType count) { return Leave() && document_.EndArray(count); }

  bool too_deep() const { return too_deep_; }

 private:
  bool Enter() {
    too_deep_ = ++depth_ > kMaxDepth;
    return !too_deep_;
  }
  bool Leave() {
    --depth_;
    return true;
  }

  rapidjson::Document& document_;
  Record& record_;
  int depth_ = 0;
  bool too_deep_ = false;
};

// The generator GenericDocument::Populate expects: runs the reader over the record's text.
class InPlaceParse {
 public:
  explicit InPlaceParse(Record& record) : record_(record) {}

  bool operator()(rapidjson::Document& document) {
    DocumentBuilder builder(document, record_);
    rapidjson::InsituStringStream stream(record_.text.data());
    rapidjson::Reader reader;
    result_ = reader.Parse<kParseFlags>(stream, builder);
    too_deep_ = builder.too_deep();
    return !result_.IsError();
  }

  const rapidjson::ParseResult& result() const { return result_; }
  bool too_deep() const { return too_deep_; }

 private:
  Record& record_;
  rapidjson::ParseResult result_;
  bool too_deep_ = false;
};

std::optional<Poison> ParseRecord(Record& record) {
  // The in-place stream ends at the first NUL, which would silently drop the rest; a raw NUL is
  // invalid anywhere in JSON.
  if (record.text.find('\0') < record.size()) {
    return Poison{PoisonReason::kInvalidJson, "invalid JSON: NUL byte in record"};
  }
  // A scratch document on the same pool builds the tree; its parse stack, which would otherwise
  // stay allocated for the event's lifetime, goes when it does.
  rapidjson::Document scratch(&record.allocator);
  InPlaceParse parse(record);
  scratch.Populate(parse);
  if (parse.too_deep()) {
    return Poison{PoisonReason::kInvalidJson, "invalid JSON: nested deeper than 64 levels"};
  }
  if (parse.result().IsError()) {
    return Poison{PoisonReason::kInvalidJson,
                  "invalid JSON at offset " + std::to_string(parse.result().Offset()) + ": " +
                      rapidjson::GetParseError_En(parse.result().Code())};
  }
  rapidjson::Value& root = record.document;
  root = static_cast<rapidjson::Value&>(scratch);  // moves the tree; both share the pool
  std::sort(record.number_texts.begin(), record.number_texts.end(), std::less<>());
  return std::nullopt;
}

bool ContainsText(const std::vector<const char*>& texts, const char* text) {
  return std::binary_search(texts.begin(), texts.end(), text, std::less<>());
}

const rapidjson::Value* TryMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// A string member as text; "" when absent or not a string (numbers count as their text).
std::string_view StringMember(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = TryMember(object, name);
  if (value == nullptr || !value->IsString()) {
    return {};
  }
  return {value->GetString(), value->GetStringLength()};
}

std::optional<EventType> TryParseType(std::string_view name) {
  for (const TypeSpelling& spelling : kTypes) {
    if (EqualsIgnoreAsciiCase(name, spelling.name)) {
      return spelling.type;
    }
  }
  return std::nullopt;
}

ObjectKind KindOf(EventType type) {
  switch (type) {
    case EventType::kQuoteCreated:
      return ObjectKind::kQuote;
    case EventType::kCustomerUpdated:
      return ObjectKind::kCustomer;
    default:
      return ObjectKind::kTransaction;
  }
}

Poison MissingObject(ObjectKind kind, EventType type) {
  std::string detail = "no \"";
  detail.append(ObjectName(kind)).append("\" object for ").append(TypeName(type));
  return Poison{PoisonReason::kMissingObject, std::move(detail)};
}

// The object's id, or nullopt when it is not a non-empty JSON string.
std::optional<std::string_view> TryObjectId(const rapidjson::Value& object, const Record& record) {
  const rapidjson::Value* id = TryMember(object, "id");
  if (id == nullptr || !id->IsString() || id->GetStringLength() == 0 ||
      ContainsText(record.number_texts, id->GetString())) {
    return std::nullopt;
  }
  return std::string_view(id->GetString(), id->GetStringLength());
}

void FillAttribution(const rapidjson::Value& object, Event& event) {
  event.client_name = StringMember(object, "client_name");
  event.client_domain = StringMember(object, "client_domain");
  if (event.kind == ObjectKind::kTransaction) {
    std::string_view sep = StringMember(object, "sep");
    event.transaction_sep = sep.empty() ? event.sep : std::string(sep);
  }
}

constexpr size_t kMaxEventIdBytes = 256;

// The event id travels in HTTP headers, so it must not be able to end one.
bool IsHeaderSafeId(std::string_view id) {
  return id.size() <= kMaxEventIdBytes && std::none_of(id.begin(), id.end(), [](char c) {
           auto byte = static_cast<unsigned char>(c);
           return byte < 0x20 || byte == 0x7f;
         });
}

ParseResult BuildObjectEvent(std::shared_ptr<Record> record) {
  const rapidjson::Value& root = record->document;
  if (!IsHeaderSafeId(StringMember(root, "id"))) {
    return Poison{PoisonReason::kInvalidId,
                  "event id longer than 256 bytes or holding control characters"};
  }
  std::optional<EventType> type = TryParseType(StringMember(root, "type"));
  if (!type) {
    return Poison{PoisonReason::kUnknownType, "missing or unknown event type"};
  }
  ObjectKind kind = KindOf(*type);
  const rapidjson::Value* object = TryMember(root, ObjectName(kind).data());
  if (object == nullptr || !object->IsObject()) {
    return MissingObject(kind, *type);
  }
  std::optional<std::string_view> key = TryObjectId(*object, *record);
  if (!key) {
    return Poison{PoisonReason::kMissingId,
                  "no string id in the " + std::string(ObjectName(kind)) + " object"};
  }

  Event event;
  event.id = StringMember(root, "id");
  event.type = *type;
  event.sep = StringMember(root, "sep");
  event.kind = kind;
  event.key = *key;
  if (kind != ObjectKind::kQuote) {
    FillAttribution(*object, event);
  }
  event.record_size = record->size();
  // Aliasing pointers: both keep the whole record alive.
  const rapidjson::Document* document = &record->document;
  event.number_texts =
      std::shared_ptr<const std::vector<const char*>>(record, &record->number_texts);
  event.document = std::shared_ptr<const rapidjson::Document>(std::move(record), document);
  return event;
}

ParseResult BuildEvent(std::shared_ptr<Record> record) {
  const rapidjson::Value& root = record->document;
  if (!root.IsObject()) {
    return Poison{PoisonReason::kNotAnObject, "top level is not a JSON object", ""};
  }
  ParseResult result = BuildObjectEvent(record);  // a copy: `root` lives in the record
  if (auto* poison = std::get_if<Poison>(&result);
      poison && poison->reason != PoisonReason::kInvalidId) {
    // Names the rejected record in the dead-letter topic; an id is not payload.
    poison->event_id = std::string(StringMember(root, "id"));
  }
  return result;
}

}  // namespace

const rapidjson::Value& Event::Object() const { return (*document)[ObjectName(kind).data()]; }

bool Event::IsNumber(const rapidjson::Value& value) const {
  return value.IsString() && number_texts != nullptr &&
         ContainsText(*number_texts, value.GetString());
}

ParseResult ParseEvent(std::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Poison{PoisonReason::kTooLarge, "record of " + std::to_string(value.size()) +
                                               " bytes is over the maximum of " +
                                               std::to_string(max_bytes)};
  }
  auto record = std::make_shared<Record>(value);
  if (std::optional<Poison> poison = ParseRecord(*record)) {
    return *std::move(poison);
  }
  return BuildEvent(std::move(record));
}

std::string_view TypeName(EventType type) {
  for (const TypeSpelling& spelling : kTypes) {
    if (spelling.type == type) {
      return spelling.name;
    }
  }
  return "unknown";
}

std::string_view ObjectName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kTransaction:
      return "transaction";
    case ObjectKind::kQuote:
      return "quote";
    case ObjectKind::kCustomer:
      return "customer";
  }
  return "";
}

std::string_view PoisonReasonLabel(PoisonReason reason) {
  switch (reason) {
    case PoisonReason::kInvalidJson:
      return "invalid_json";
    case PoisonReason::kNotAnObject:
      return "not_an_object";
    case PoisonReason::kUnknownType:
      return "unknown_type";
    case PoisonReason::kMissingObject:
      return "missing_object";
    case PoisonReason::kMissingId:
      return "missing_id";
    case PoisonReason::kTooLarge:
      return "too_large";
    case PoisonReason::kInvalidId:
      return "invalid_id";
  }
  return "unknown";
}

}  // namespace anchor_events::event
