#include "event/body.h"

#include <cstdio>
#include <initializer_list>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace anchor_events::event {
namespace {

using rapidjson::SizeType;
using rapidjson::Value;

enum class Protocol { kSep6, kSep24, kSep31, kOther };

// Room for what a body adds to the record's text (the business envelope, more_info_url).
constexpr size_t kBodySlack = 256;

SizeType Length(std::string_view text) { return static_cast<SizeType>(text.size()); }

// Writes a body into one growing buffer. Strings that were numbers in the record go back
// unquoted, byte for byte.
class BodyWriter {
 public:
  explicit BodyWriter(const Event& event) : event_(event), writer_(buffer_) {
    buffer_.Reserve(event.record_size + kBodySlack);
  }

  void StartObject() { writer_.StartObject(); }
  void EndObject() { writer_.EndObject(); }
  void StartArray() { writer_.StartArray(); }
  void EndArray() { writer_.EndArray(); }
  void Key(std::string_view name) { writer_.Key(name.data(), Length(name)); }
  void String(std::string_view text) { writer_.String(text.data(), Length(text)); }
  void Bool(bool b) { writer_.Bool(b); }

  // Writes "name": value unless value is absent (nullptr) or JSON null.
  void Field(std::string_view name, const Value* value) {
    if (value != nullptr && !value->IsNull()) {
      Key(name);
      WriteValue(*value);
    }
  }

  void WriteValue(const Value& value);

  std::string Take() { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  void WriteString(const Value& value) {
    if (event_.IsNumber(value)) {
      writer_.RawValue(value.GetString(), value.GetStringLength(), rapidjson::kNumberType);
    } else {
      writer_.String(value.GetString(), value.GetStringLength());
    }
  }

  const Event& event_;
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

// Recursion is bounded: ParseEvent refuses documents nested deeper than 64 levels.
void BodyWriter::WriteValue(const Value& value) {
  switch (value.GetType()) {
    case rapidjson::kObjectType:
      writer_.StartObject();
      for (const auto& member : value.GetObject()) {
        writer_.Key(member.name.GetString(), member.name.GetStringLength());
        WriteValue(member.value);
      }
      writer_.EndObject();
      break;
    case rapidjson::kArrayType:
      writer_.StartArray();
      for (const Value& element : value.GetArray()) {
        WriteValue(element);
      }
      writer_.EndArray();
      break;
    case rapidjson::kStringType:
      WriteString(value);
      break;
    default:  // null, booleans, and numbers of documents not built by ParseEvent
      value.Accept(writer_);
      break;
  }
}

// A member, or nullptr when `object` is not an object or the member is absent or null.
const Value* Find(const Value& object, const char* name) {
  if (!object.IsObject()) {
    return nullptr;
  }
  auto it = object.FindMember(name);
  return it == object.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

std::string_view TextOf(const Value* value) {
  if (value == nullptr || !value->IsString()) {
    return {};
  }
  return {value->GetString(), value->GetStringLength()};
}

// An {amount, asset} object's amount; any other value as it is.
const Value* AmountOf(const Value* value) {
  return value != nullptr && value->IsObject() ? Find(*value, "amount") : value;
}

void CopyFields(BodyWriter& out, const Value& tx, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    out.Field(name, Find(tx, name));
  }
}

Protocol ProtocolOf(std::string_view sep) {
  if (sep == "6") {
    return Protocol::kSep6;
  }
  if (sep == "24") {
    return Protocol::kSep24;
  }
  return sep == "31" ? Protocol::kSep31 : Protocol::kOther;
}

// Unreserved characters (RFC 3986) pass; every other byte is %XX.
void AppendPercentEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                      (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.append({'%', kHex[byte >> 4], kHex[byte & 0xF]});
    }
  }
}

void WriteMoreInfoUrl(BodyWriter& out, const Value& tx, std::string_view base) {
  std::string url(base);
  if (url.back() != '?' && url.back() != '&') {
    url.push_back(url.find('?') == std::string::npos ? '?' : '&');
  }
  url.append("transaction_id=");
  AppendPercentEncoded(url, TextOf(Find(tx, "id")));
  out.Key("more_info_url");
  out.String(url);
}

// {amount, asset} becomes `name` + `asset_name`; a bare amount is kept under `name`.
void WriteAmount(BodyWriter& out, const Value& tx, const char* name, const char* asset_name) {
  const Value* amount = Find(tx, name);
  if (amount == nullptr || !amount->IsObject()) {
    out.Field(name, amount);
    return;
  }
  out.Field(name, Find(*amount, "amount"));
  out.Field(asset_name, Find(*amount, "asset"));
}

void WriteStellarTransactionId(BodyWriter& out, const Value& tx) {
  const Value* transactions = Find(tx, "stellar_transactions");
  if (transactions != nullptr && transactions->IsArray() && !transactions->Empty()) {
    out.Field("stellar_transaction_id", Find((*transactions)[0], "id"));
  }
}

void WriteRefundPayments(BodyWriter& out, const Value* payments) {
  if (payments == nullptr || !payments->IsArray()) {
    return;
  }
  out.Key("payments");
  out.StartArray();
  for (const Value& payment : payments->GetArray()) {
    out.StartObject();
    CopyFields(out, payment, {"id", "id_type"});
    out.Field("amount", AmountOf(Find(payment, "amount")));
    out.Field("fee", AmountOf(Find(payment, "fee")));
    out.EndObject();
  }
  out.EndArray();
}

void WriteRefunds(BodyWriter& out, const Value& tx) {
  const Value* refunds = Find(tx, "refunds");
  bool has_refunds = refunds != nullptr && refunds->IsObject();
  bool refunded_in_full = TextOf(Find(tx, "status")) == "refunded";
  if (has_refunds || refunded_in_full) {
    out.Key("refunded");
    out.Bool(refunded_in_full);
  }
  if (!has_refunds) {
    return;
  }
  out.Key("refunds");
  out.StartObject();
  out.Field("amount_refunded", AmountOf(Find(*refunds, "amount_refunded")));
  out.Field("amount_fee", AmountOf(Find(*refunds, "amount_fee")));
  WriteRefundPayments(out, Find(*refunds, "payments"));
  out.EndObject();
}

// SEP-6 and SEP-24: accounts as from/to, memo named after the direction of the kind.
void WriteAccountsAndMemos(BodyWriter& out, const Value& tx) {
  out.Field("from", Find(tx, "source_account"));
  out.Field("to", Find(tx, "destination_account"));
  std::string_view kind = TextOf(Find(tx, "kind"));
  if (kind.starts_with("deposit")) {
    out.Field("deposit_memo", Find(tx, "memo"));
    out.Field("deposit_memo_type", Find(tx, "memo_type"));
  } else if (kind.starts_with("withdrawal")) {
    out.Field("withdraw_anchor_account", Find(tx, "withdraw_anchor_account"));
    out.Field("withdraw_memo", Find(tx, "memo"));
    out.Field("withdraw_memo_type", Find(tx, "memo_type"));
  }
}

void WriteSep31Account(BodyWriter& out, const Value& tx) {
  out.Field("stellar_account_id", Find(tx, "destination_account"));
  out.Field("stellar_memo_type", Find(tx, "memo_type"));
  out.Field("stellar_memo", Find(tx, "memo"));
}

void WriteSep31RequiredInfo(BodyWriter& out, const Value& tx) {
  const Value* message = Find(tx, "required_info_message");
  out.Field("required_info_message", message != nullptr ? message : Find(tx, "message"));
  out.Field("required_info_updates", Find(tx, "required_info_updates"));
}

// The fields in the order the SEPs list them.
void WriteTransaction(BodyWriter& out, const Value& tx, Protocol protocol,
                      std::string_view more_info_base_url) {
  bool sep6_or_24 = protocol == Protocol::kSep6 || protocol == Protocol::kSep24;
  CopyFields(out, tx,
             sep6_or_24 ? std::initializer_list<const char*>{"id", "kind", "status"}
                        : std::initializer_list<const char*>{"id", "status"});
  if (sep6_or_24 && !more_info_base_url.empty()) {
    WriteMoreInfoUrl(out, tx, more_info_base_url);
  }
  WriteAmount(out, tx, "amount_in", "amount_in_asset");
  WriteAmount(out, tx, "amount_out", "amount_out_asset");
  CopyFields(out, tx, {"fee_details", "quote_id"});
  if (protocol == Protocol::kSep31) {
    WriteSep31Account(out, tx);
  }
  CopyFields(out, tx, {"started_at", "updated_at", "completed_at", "user_action_required_by"});
  WriteStellarTransactionId(out, tx);
  CopyFields(out, tx, {"external_transaction_id", "message"});
  WriteRefunds(out, tx);
  if (sep6_or_24) {
    WriteAccountsAndMemos(out, tx);
  }
  if (protocol == Protocol::kSep6) {
    CopyFields(out, tx, {"required_info_message", "required_info_updates"});
  } else if (protocol == Protocol::kSep31) {
    WriteSep31RequiredInfo(out, tx);
  }
}

}  // namespace

std::string BuildBusinessBody(const Event& event, std::string_view timestamp) {
  BodyWriter out(event);
  out.StartObject();
  out.Key("id");
  out.String(event.id);
  out.Key("timestamp");
  out.String(timestamp);
  out.Key("type");
  out.String(TypeName(event.type));
  out.Key("payload");
  out.StartObject();
  out.Key(ObjectName(event.kind));
  if (event.kind == ObjectKind::kCustomer) {
    // What the Platform sends: the business server fetches the customer itself.
    out.StartObject();
    out.Field("id", Find(event.Object(), "id"));
    out.EndObject();
  } else {
    out.WriteValue(event.Object());
  }
  out.EndObject();
  out.EndObject();
  return out.Take();
}

std::string BuildClientBody(const Event& event, std::string_view more_info_base_url) {
  BodyWriter out(event);
  if (event.kind != ObjectKind::kTransaction) {
    out.WriteValue(event.Object());
    return out.Take();
  }
  out.StartObject();
  out.Key("transaction");
  out.StartObject();
  WriteTransaction(out, event.Object(), ProtocolOf(event.transaction_sep), more_info_base_url);
  out.EndObject();
  out.EndObject();
  return out.Take();
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day date(day);
  hh_mm_ss time(ms - day);
  char text[40];
  int length = std::snprintf(
      text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
      static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  return std::string(text, static_cast<size_t>(length));
}

}  // namespace anchor_events::event
