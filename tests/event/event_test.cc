#include "event/event.h"

#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "event_test_util.h"

namespace anchor_events::event {
namespace {

struct SampleExpectation {
  std::string file;
  size_t line;
  EventType type;
  ObjectKind kind;
  std::string key;
  std::string client_name;
  std::string client_domain;
  std::string transaction_sep;
};

const char kSep24Tx[] = "a4baff5f-778c-43d6-bbef-3e9fb41d096e";
const char kSep6Tx[] = "7f1c2b9a-6a43-4f3e-bb0e-1d2c3b4a5e6f";

std::vector<SampleExpectation> AllSamples() {
  const auto created = EventType::kTransactionCreated;
  const auto changed = EventType::kTransactionStatusChanged;
  const auto tx = ObjectKind::kTransaction;
  std::vector<SampleExpectation> samples;
  const std::string sep24 = "sep24-deposit-lifecycle.jsonl";
  samples.push_back({sep24, 0, created, tx, kSep24Tx, "wallet-a", "wallet-a.example", "24"});
  for (size_t line = 1; line < 5; ++line) {
    samples.push_back({sep24, line, changed, tx, kSep24Tx, "wallet-a", "wallet-a.example", "24"});
  }
  const std::string sep6 = "sep6-withdrawal-error.jsonl";
  samples.push_back({sep6, 0, created, tx, kSep6Tx, "wallet-b", "", "6"});
  samples.push_back({sep6, 1, changed, tx, kSep6Tx, "wallet-b", "", "6"});
  samples.push_back({sep6, 2, changed, tx, kSep6Tx, "wallet-b", "", "6"});
  const std::string sep31 = "sep31-receive.jsonl";
  samples.push_back(
      {sep31, 0, EventType::kQuoteCreated, ObjectKind::kQuote, "quote-31-0001", "", "", ""});
  samples.push_back({sep31, 1, created, tx, "ABC-31-0001", "wallet-b", "", "31"});
  samples.push_back({sep31, 2, changed, tx, "ABC-31-0001", "wallet-b", "", "31"});
  samples.push_back({sep31, 3, changed, tx, "ABC-31-0001", "wallet-b", "", "31"});
  const std::string other = "customers-and-unattributed.jsonl";
  samples.push_back({other, 0, EventType::kCustomerUpdated, ObjectKind::kCustomer,
                     "d1ce2f48-3ff1-495d-9240-7a50d806cfed", "", "", ""});
  samples.push_back({other, 1, changed, tx, "0b1f9a7e-2d6c-4c1b-9e3f-5a6b7c8d9e0f", "", "", "24"});
  samples.push_back({other, 2, EventType::kQuoteCreated, ObjectKind::kQuote,
                     "quote-upper-case-type", "", "", ""});
  return samples;
}

Poison MustBePoison(std::string_view record, size_t max_bytes = 1 << 20) {
  ParseResult result = ParseEvent(record, max_bytes);
  if (!std::holds_alternative<Poison>(result)) {
    ADD_FAILURE() << "parsed as an event: " << record;
    return Poison{};
  }
  return std::get<Poison>(result);
}

TEST(ParseEventTest, EverySampleEventParsesWithTypeKeyAndAttribution) {
  for (const SampleExpectation& sample : AllSamples()) {
    SCOPED_TRACE(sample.file + ":" + std::to_string(sample.line + 1));

    Event event = MustParseSample(sample.file, sample.line);

    EXPECT_EQ(event.type, sample.type);
    EXPECT_EQ(event.kind, sample.kind);
    EXPECT_EQ(event.key, sample.key);
    EXPECT_EQ(event.client_name, sample.client_name);
    EXPECT_EQ(event.client_domain, sample.client_domain);
    EXPECT_EQ(event.transaction_sep, sample.transaction_sep);
    ASSERT_TRUE(event.document != nullptr);
    EXPECT_EQ(event.Object()["id"].GetString(), sample.key);
  }
}

TEST(ParseEventTest, EveryLineOfEverySampleFileParses) {
  for (const char* file : {"sep24-deposit-lifecycle.jsonl", "sep6-withdrawal-error.jsonl",
                           "sep31-receive.jsonl", "customers-and-unattributed.jsonl"}) {
    std::vector<std::string> lines = ReadEventLines(file);
    EXPECT_FALSE(lines.empty()) << file;
    for (const std::string& line : lines) {
      EXPECT_TRUE(std::holds_alternative<Event>(ParseEvent(line))) << file << ": " << line;
    }
  }
}

TEST(ParseEventTest, FillsEventIdAndSep) {
  Event event = MustParseSample("sep6-withdrawal-error.jsonl", 2);

  EXPECT_EQ(event.id, "7d0c3e2a-0000-4000-8000-000000000008");
  EXPECT_EQ(event.sep, "6");
  EXPECT_STREQ(event.Object()["status"].GetString(), "error");
}

TEST(ParseEventTest, ClassifiesEveryPoisonSampleWithItsReason) {
  const std::vector<PoisonReason> expected = {
      PoisonReason::kInvalidJson,    // not json{
      PoisonReason::kUnknownType,    // transaction_error
      PoisonReason::kUnknownType,    // no type
      PoisonReason::kMissingObject,  // transaction null
      PoisonReason::kMissingObject,  // customer_updated without customer
      PoisonReason::kNotAnObject,    // []
      PoisonReason::kNotAnObject,    // ""
  };
  std::vector<std::string> lines = ReadEventLines("poison.txt");
  ASSERT_EQ(lines.size(), expected.size());

  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(PoisonReasonLabel(MustBePoison(lines[i]).reason), PoisonReasonLabel(expected[i]))
        << lines[i];
  }
}

TEST(ParseEventTest, PoisonKeepsTheEventIdWhenTheRecordHasOne) {
  std::vector<std::string> lines = ReadEventLines("poison.txt");
  const std::vector<std::string> expected = {"", "p-1", "p-2", "p-3", "p-4", "", ""};
  ASSERT_EQ(lines.size(), expected.size());

  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(MustBePoison(lines[i]).event_id, expected[i]) << lines[i];
  }
}

TEST(ParseEventTest, ClassifiesMalformedRecords) {
  struct Case {
    std::string record;
    PoisonReason reason;
  };
  const std::vector<Case> cases = {
      {"", PoisonReason::kInvalidJson},
      {R"({"type":"quote_created","quote":{"id":"q"}} trailing)", PoisonReason::kInvalidJson},
      {std::string(R"({"type":"quote_created","quote":{"id":"q"}})") + '\0' + "x",
       PoisonReason::kInvalidJson},
      {"{\"type\":\"quote_created\",\"quote\":{\"id\":\"q\xff\"}}", PoisonReason::kInvalidJson},
      {"{\"type\":\"quote_created\",\"quote\":{\"id\":\"\xc0\xaf\"}}", PoisonReason::kInvalidJson},
      {R"({"type":"quote_created","quote":{"id":"\ud800"}})", PoisonReason::kInvalidJson},
      {"42", PoisonReason::kNotAnObject},
      {R"({"type":7,"quote":{"id":"q"}})", PoisonReason::kUnknownType},
      {R"({"type":"quote_updated","quote":{"id":"q"}})", PoisonReason::kUnknownType},
      {R"({"type":"quote_created","transaction":{"id":"q"}})", PoisonReason::kMissingObject},
      {R"({"type":"quote_created","quote":"q"})", PoisonReason::kMissingObject},
      {R"({"type":"transaction_created","transaction":[]})", PoisonReason::kMissingObject},
      {R"({"type":"transaction_created","transaction":{}})", PoisonReason::kMissingId},
      {R"({"type":"transaction_created","transaction":{"id":null}})", PoisonReason::kMissingId},
      {R"({"type":"transaction_created","transaction":{"id":42}})", PoisonReason::kMissingId},
      {R"({"type":"transaction_created","transaction":{"id":""}})", PoisonReason::kMissingId},
      {R"({"type":"customer_updated","customer":{"id":{"x":1}}})", PoisonReason::kMissingId},
  };

  for (const Case& c : cases) {
    EXPECT_EQ(PoisonReasonLabel(MustBePoison(c.record).reason), PoisonReasonLabel(c.reason))
        << c.record;
  }
}

TEST(ParseEventTest, RefusesDeepNestingWithoutExhaustingTheStack) {
  std::string record = R"({"type":"quote_created","quote":{"id":"q","x":)";
  record += std::string(100000, '[') + std::string(100000, ']') + "}}";

  Poison poison = MustBePoison(record, record.size());

  EXPECT_EQ(poison.reason, PoisonReason::kInvalidJson);
  EXPECT_NE(poison.detail.find("nested"), std::string::npos);
}

TEST(ParseEventTest, AcceptsNestingUpToSixtyFourLevels) {
  // The root and the quote are two levels.
  auto nested = [](int arrays) {
    return R"({"type":"quote_created","quote":{"id":"q","x":)" + std::string(arrays, '[') +
           std::string(arrays, ']') + "}}";
  };

  EXPECT_TRUE(std::holds_alternative<Event>(ParseEvent(nested(62))));
  EXPECT_EQ(MustBePoison(nested(63)).reason, PoisonReason::kInvalidJson);
}

TEST(ParseEventTest, RefusesRecordsOverTheMaximumSize) {
  std::string record = ReadEventLines("sep31-receive.jsonl")[0];

  Poison poison = MustBePoison(record, record.size() - 1);

  EXPECT_EQ(poison.reason, PoisonReason::kTooLarge);
  EXPECT_TRUE(std::holds_alternative<Event>(ParseEvent(record, record.size())));
}

TEST(ParseEventTest, AnIdThatCouldEndAnHttpHeaderIsPoison) {
  const std::string tail =
      R"(","type":"transaction_created","sep":"24","transaction":{"id":"t1"}})";
  for (const std::string& id :
       {std::string("abc\r\nX-Injected: 1"), std::string("a\tb"), std::string(257, 'a')}) {
    std::string escaped;
    for (char c : id) {
      escaped += c == '\r'   ? std::string("\\r")
                 : c == '\n' ? std::string("\\n")
                 : c == '\t' ? std::string("\\t")
                             : std::string(1, c);
    }
    Poison poison = MustBePoison(R"({"id":")" + escaped + tail);
    EXPECT_EQ(poison.reason, PoisonReason::kInvalidId) << escaped;
    EXPECT_TRUE(poison.event_id.empty()) << "an unsafe id must not reach dead-letter headers";
  }
  EXPECT_EQ(PoisonReasonLabel(PoisonReason::kInvalidId), "invalid_id");
  ParseResult fine = ParseEvent(R"({"id":")" + std::string(256, 'a') + tail, 1 << 20);
  EXPECT_TRUE(std::holds_alternative<Event>(fine));
}

TEST(ParseEventTest, PoisonDetailNeverEchoesPayloadValues) {
  Poison unknown = MustBePoison(R"({"type":"secret-type-value","quote":{"id":"q"}})");
  Poison truncated = MustBePoison(R"({"type":"quote_created","quote":{"id":"secret-value")");

  EXPECT_EQ(unknown.detail.find("secret"), std::string::npos) << unknown.detail;
  EXPECT_EQ(truncated.detail.find("secret"), std::string::npos) << truncated.detail;
}

TEST(ParseEventTest, AcceptsTypeInAnyLetterCase) {
  Event upper = MustParseSample("customers-and-unattributed.jsonl", 2);
  Event mixed = MustParse(R"({"type":"Transaction_Created","transaction":{"id":"t","sep":"24"}})");

  EXPECT_EQ(upper.type, EventType::kQuoteCreated);
  EXPECT_EQ(TypeName(upper.type), "quote_created");
  EXPECT_EQ(mixed.type, EventType::kTransactionCreated);
}

TEST(ParseEventTest, TransactionSepFallsBackToTheEventSep) {
  Event own = MustParse(R"({"type":"transaction_created","sep":"24","transaction":{"id":"t",)"
                        R"("sep":"6"}})");
  Event inherited = MustParse(R"({"type":"transaction_created","sep":"31","transaction":)"
                              R"({"id":"t"}})");

  EXPECT_EQ(own.transaction_sep, "6");
  EXPECT_EQ(inherited.transaction_sep, "31");
}

TEST(ParseEventTest, AcceptsCamelCaseFundingMethod) {
  Event event = MustParseSample("sep6-withdrawal-error.jsonl", 0);

  EXPECT_STREQ(event.Object()["fundingMethod"].GetString(), "bank_account");
}

TEST(ParseEventTest, AttributesCustomerOnlyWhenItsObjectNamesAClient) {
  Event plain = MustParseSample("customers-and-unattributed.jsonl", 0);
  Event named = MustParse(R"({"type":"customer_updated","customer":{"id":"c",)"
                          R"("client_domain":"wallet-a.example"}})");

  EXPECT_EQ(plain.client_name, "");
  EXPECT_EQ(plain.client_domain, "");
  EXPECT_EQ(named.client_domain, "wallet-a.example");
  EXPECT_EQ(named.transaction_sep, "");
}

TEST(ParseEventTest, KeepsNumbersAsTheirOriginalText) {
  Event event = MustParse(R"({"type":"quote_created","quote":{"id":"q","a":1.10,"b":1e5,)"
                          R"("c":-0,"d":"1.10","e":[7]}})");
  const rapidjson::Value& quote = event.Object();

  EXPECT_STREQ(quote["a"].GetString(), "1.10");
  EXPECT_STREQ(quote["b"].GetString(), "1e5");
  EXPECT_STREQ(quote["c"].GetString(), "-0");
  EXPECT_TRUE(event.IsNumber(quote["a"]));
  EXPECT_TRUE(event.IsNumber(quote["e"][0]));
  EXPECT_FALSE(event.IsNumber(quote["d"]));
  EXPECT_FALSE(event.IsNumber(quote["id"]));
}

TEST(ParseEventTest, CopiesOutliveTheOriginal) {
  Event copy;
  {
    Event original = MustParseSample("sep24-deposit-lifecycle.jsonl", 2);
    copy = original;
  }

  EXPECT_STREQ(copy.Object()["message"].GetString(), "Depósito recibido, procesando ✓");
}

TEST(ParseEventTest, DecodesEscapedStrings) {
  Event event = MustParse(R"({"type":"quote_created","quote":{"id":"q\u00e9\"\\\n"}})");

  EXPECT_EQ(event.key, "q\xc3\xa9\"\\\n");
}

TEST(ParseEventTest, LabelsAreStable) {
  EXPECT_EQ(PoisonReasonLabel(PoisonReason::kInvalidJson), "invalid_json");
  EXPECT_EQ(PoisonReasonLabel(PoisonReason::kNotAnObject), "not_an_object");
  EXPECT_EQ(PoisonReasonLabel(PoisonReason::kUnknownType), "unknown_type");
  EXPECT_EQ(PoisonReasonLabel(PoisonReason::kMissingObject), "missing_object");
  EXPECT_EQ(PoisonReasonLabel(PoisonReason::kMissingId), "missing_id");
  EXPECT_EQ(PoisonReasonLabel(PoisonReason::kTooLarge), "too_large");
  EXPECT_EQ(TypeName(EventType::kTransactionStatusChanged), "transaction_status_changed");
  EXPECT_EQ(ObjectName(ObjectKind::kCustomer), "customer");
}

}  // namespace
}  // namespace anchor_events::event
