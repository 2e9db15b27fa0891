#include "event/body.h"

#include <chrono>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "event_test_util.h"

namespace anchor_events::event {
namespace {

constexpr char kUsdc[] = "stellar:USDC:GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR";

std::string WithUsdc(std::string json) {
  for (size_t at = json.find("$USDC"); at != std::string::npos; at = json.find("$USDC")) {
    json.replace(at, 5, kUsdc);
  }
  return json;
}

TEST(BuildClientBodyTest, MapsACompletedSep24Deposit) {
  Event event = MustParseSample("sep24-deposit-lifecycle.jsonl", 4);

  std::string body = BuildClientBody(event);

  EXPECT_TRUE(JsonEquals(body, WithUsdc(R"({"transaction":{
      "id":"a4baff5f-778c-43d6-bbef-3e9fb41d096e","kind":"deposit","status":"completed",
      "amount_in":"100","amount_in_asset":"iso4217:USD",
      "amount_out":"98.5","amount_out_asset":"$USDC",
      "fee_details":{"total":"1.5","asset":"iso4217:USD",
                     "details":[{"name":"Service fee","amount":"1.5"}]},
      "started_at":"2026-11-30T10:00:00Z","updated_at":"2026-11-30T10:06:07.5Z",
      "completed_at":"2026-11-30T10:06:07.5Z",
      "stellar_transaction_id":"b9d0b2292c4e09e8eb22d036171491e87b8d2086bf8b265874c8d182cb9c9020",
      "message":"Depósito recibido, procesando ✓",
      "to":"GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX",
      "deposit_memo":"4242","deposit_memo_type":"id"}})")));
}

TEST(BuildClientBodyTest, LeavesOutWhatAnEarlySep24StepLacks) {
  Event event = MustParseSample("sep24-deposit-lifecycle.jsonl", 0);

  std::string body = BuildClientBody(event);

  EXPECT_TRUE(JsonEquals(body, R"({"transaction":{
      "id":"a4baff5f-778c-43d6-bbef-3e9fb41d096e","kind":"deposit","status":"incomplete",
      "started_at":"2026-11-30T10:00:00Z","updated_at":"2026-11-30T10:00:00Z",
      "to":"GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX",
      "deposit_memo":"4242","deposit_memo_type":"id"}})"));
  for (const char* absent :
       {"amount_in", "completed_at", "stellar_transaction_id", "refunded", "more_info_url", "from",
        "amount_expected", "client_domain", "customers", "creator", "memo"}) {
    EXPECT_FALSE(HasMember(body, "transaction", absent)) << absent;
  }
}

TEST(BuildClientBodyTest, MapsASep6WithdrawalError) {
  Event event = MustParseSample("sep6-withdrawal-error.jsonl", 2);

  std::string body = BuildClientBody(event);

  EXPECT_TRUE(JsonEquals(body, R"({"transaction":{
      "id":"7f1c2b9a-6a43-4f3e-bb0e-1d2c3b4a5e6f","kind":"withdrawal","status":"error",
      "started_at":"2026-11-30T10:00:00Z","updated_at":"2026-11-30T11:09:00Z",
      "message":"bank rejected the payout: account closed",
      "from":"GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX",
      "withdraw_anchor_account":"GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR",
      "withdraw_memo":"777","withdraw_memo_type":"id"}})"));
  EXPECT_FALSE(HasMember(body, "transaction", "fundingMethod"));
  EXPECT_FALSE(HasMember(body, "transaction", "type"));
  EXPECT_FALSE(HasMember(body, "transaction", "deposit_memo"));
}

TEST(BuildClientBodyTest, KeepsUserActionRequiredBy) {
  Event event = MustParseSample("sep6-withdrawal-error.jsonl", 1);

  std::string body = BuildClientBody(event);

  EXPECT_NE(body.find(R"("user_action_required_by":"2026-12-01T11:02:00Z")"), std::string::npos)
      << body;
}

TEST(BuildClientBodyTest, MapsASep31Receive) {
  Event event = MustParseSample("sep31-receive.jsonl", 2);

  std::string body = BuildClientBody(event);

  EXPECT_TRUE(JsonEquals(body, WithUsdc(R"({"transaction":{
      "id":"ABC-31-0001","status":"pending_receiver",
      "amount_in":"100","amount_in_asset":"$USDC",
      "amount_out":"92.1","amount_out_asset":"iso4217:EUR",
      "fee_details":{"total":"1","asset":"$USDC"},
      "quote_id":"quote-31-0001",
      "stellar_account_id":"GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR",
      "stellar_memo":"c2VwMzEtbWVtbw==","stellar_memo_type":"hash",
      "started_at":"2026-11-30T10:00:00Z","updated_at":"2026-11-30T12:03:00Z"}})")));
  for (const char* absent : {"kind", "from", "to", "deposit_memo", "more_info_url"}) {
    EXPECT_FALSE(HasMember(body, "transaction", absent)) << absent;
  }
}

TEST(BuildClientBodyTest, Sep31RequiredInfoMessageFallsBackToMessage) {
  Event fallback = MustParse(R"({"type":"transaction_status_changed","transaction":{"id":"t",)"
                             R"("sep":"31","status":"pending_customer_info_update",)"
                             R"("message":"need the receiver's address",)"
                             R"("required_info_updates":{"receiver":{"address":{}}}}})");
  Event own = MustParse(R"({"type":"transaction_status_changed","transaction":{"id":"t",)"
                        R"("sep":"31","message":"m","required_info_message":"r"}})");

  EXPECT_TRUE(JsonEquals(BuildClientBody(fallback), R"({"transaction":{"id":"t",
      "status":"pending_customer_info_update","message":"need the receiver's address",
      "required_info_message":"need the receiver's address",
      "required_info_updates":{"receiver":{"address":{}}}}})"));
  EXPECT_TRUE(
      JsonEquals(BuildClientBody(own),
                 R"({"transaction":{"id":"t","message":"m","required_info_message":"r"}})"));
}

TEST(BuildClientBodyTest, Sep6KeepsRequiredInfoAndSep24DropsIt) {
  const char* record = R"({"type":"transaction_status_changed","transaction":{"id":"t",)"
                       R"("sep":"%s","required_info_message":"r","required_info_updates":["x"]}})";
  char sep6[256];
  char sep24[256];
  std::snprintf(sep6, sizeof(sep6), record, "6");
  std::snprintf(sep24, sizeof(sep24), record, "24");

  std::string body6 = BuildClientBody(MustParse(sep6));
  std::string body24 = BuildClientBody(MustParse(sep24));

  EXPECT_TRUE(HasMember(body6, "transaction", "required_info_message"));
  EXPECT_TRUE(HasMember(body6, "transaction", "required_info_updates"));
  EXPECT_FALSE(HasMember(body24, "transaction", "required_info_message"));
  EXPECT_FALSE(HasMember(body24, "transaction", "required_info_updates"));
}

TEST(BuildClientBodyTest, WritesRefundAmountsAsStrings) {
  Event event = MustParse(R"({"type":"transaction_status_changed","transaction":{"id":"t",)"
                          R"("sep":"24","kind":"withdrawal","status":"refunded",)"
                          R"("refunds":{"amount_refunded":{"amount":"10","asset":"iso4217:USD"},)"
                          R"("amount_fee":{"amount":"1","asset":"iso4217:USD"},)"
                          R"("payments":[{"id":"p1","id_type":"stellar",)"
                          R"("amount":{"amount":"9","asset":"iso4217:USD"},)"
                          R"("fee":{"amount":"1","asset":"iso4217:USD"},)"
                          R"("requested_at":"2026-11-30T10:00:00Z"}]}}})");

  std::string body = BuildClientBody(event);

  EXPECT_TRUE(JsonEquals(body, R"({"transaction":{"id":"t","kind":"withdrawal",
      "status":"refunded","refunded":true,
      "refunds":{"amount_refunded":"10","amount_fee":"1",
                 "payments":[{"id":"p1","id_type":"stellar","amount":"9","fee":"1"}]}}})"));
}

TEST(BuildClientBodyTest, RefundedIsFalseUntilTheStatusIsRefunded) {
  Event partial = MustParse(R"({"type":"transaction_status_changed","transaction":{"id":"t",)"
                            R"("sep":"6","status":"completed","refunds":{"amount_refunded":)"
                            R"({"amount":"1","asset":"iso4217:USD"}}}})");
  Event none = MustParseSample("sep6-withdrawal-error.jsonl", 2);

  std::string partial_body = BuildClientBody(partial);

  EXPECT_TRUE(JsonEquals(partial_body, R"({"transaction":{"id":"t","status":"completed",
      "refunded":false,"refunds":{"amount_refunded":"1"}}})"));
  EXPECT_FALSE(HasMember(BuildClientBody(none), "transaction", "refunded"));
}

TEST(BuildClientBodyTest, LeavesNullFieldsOut) {
  Event event = MustParse(R"({"type":"transaction_status_changed","transaction":{"id":"t",)"
                          R"("sep":"24","kind":"deposit","status":"pending_anchor",)"
                          R"("message":null,"amount_in":null,"memo":null,)"
                          R"("amount_out":{"amount":"5","asset":null},"refunds":null,)"
                          R"("stellar_transactions":[]}})");

  std::string body = BuildClientBody(event);

  EXPECT_TRUE(JsonEquals(body, R"({"transaction":{"id":"t","kind":"deposit",
      "status":"pending_anchor","amount_out":"5"}})"));
  EXPECT_EQ(body.find("null"), std::string::npos) << body;
}

TEST(BuildClientBodyTest, WritesMoreInfoUrlOnlyWithABaseUrl) {
  Event event = MustParse(R"({"type":"transaction_created","transaction":{"id":"a b/c",)"
                          R"("sep":"24","kind":"deposit"}})");
  Event sep31 = MustParseSample("sep31-receive.jsonl", 1);

  std::string plain = BuildClientBody(event);
  std::string with_base = BuildClientBody(event, "https://anchor.example/more");
  std::string with_query = BuildClientBody(event, "https://anchor.example/more?lang=es");

  EXPECT_FALSE(HasMember(plain, "transaction", "more_info_url"));
  EXPECT_NE(
      with_base.find(R"("more_info_url":"https://anchor.example/more?transaction_id=a%20b%2Fc")"),
      std::string::npos)
      << with_base;
  EXPECT_NE(with_query.find(R"("https://anchor.example/more?lang=es&transaction_id=a%20b%2Fc")"),
            std::string::npos)
      << with_query;
  EXPECT_FALSE(HasMember(BuildClientBody(sep31, "https://anchor.example/more"), "transaction",
                         "more_info_url"));
}

TEST(BuildClientBodyTest, SendsTheBareCustomerObject) {
  std::string record = ReadEventLines("customers-and-unattributed.jsonl")[0];
  Event event = MustParse(record);
  rapidjson::Document source;
  source.Parse(record.c_str());
  rapidjson::StringBuffer customer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(customer);
  source["customer"].Accept(writer);

  std::string body = BuildClientBody(event);

  EXPECT_TRUE(JsonEquals(body, customer.GetString()));
  EXPECT_FALSE(HasMember(body, "", "transaction"));
}

TEST(BuildClientBodyTest, WritesNumbersAsTheyWereInTheRecord) {
  Event event = MustParse(R"({"type":"transaction_status_changed","transaction":{"id":"t",)"
                          R"("sep":"24","fee_details":{"total":1.10,"details":[)"
                          R"({"amount":1e5},{"amount":-0},{"amount":0.1E-2},)"
                          R"({"amount":123456789012345678901234567890},{"amount":"2.50"}]}}})");

  std::string body = BuildClientBody(event);

  EXPECT_NE(body.find(R"("fee_details":{"total":1.10,"details":[{"amount":1e5},{"amount":-0},)"
                      R"({"amount":0.1E-2},{"amount":123456789012345678901234567890},)"
                      R"({"amount":"2.50"}]})"),
            std::string::npos)
      << body;
}

TEST(BuildBusinessBodyTest, WrapsTheTransactionWithIdTimestampAndType) {
  std::string record = ReadEventLines("sep24-deposit-lifecycle.jsonl")[2];
  Event event = MustParse(record);
  rapidjson::Document source;
  source.Parse(record.c_str());
  rapidjson::StringBuffer transaction;
  rapidjson::Writer<rapidjson::StringBuffer> writer(transaction);
  source["transaction"].Accept(writer);

  std::string body = BuildBusinessBody(event, "2026-11-30T10:05:43.000Z");

  EXPECT_TRUE(JsonEquals(body, R"({"id":"7d0c3e2a-0000-4000-8000-000000000003",)"
                               R"("timestamp":"2026-11-30T10:05:43.000Z",)"
                               R"("type":"transaction_status_changed","payload":{"transaction":)" +
                                   std::string(transaction.GetString()) + "}}"));
  EXPECT_NE(body.find("Depósito recibido, procesando ✓"), std::string::npos) << body;
}

TEST(BuildBusinessBodyTest, SendsOnlyTheCustomerId) {
  Event event = MustParseSample("customers-and-unattributed.jsonl", 0);

  std::string body = BuildBusinessBody(event, "2026-11-30T13:00:00.000Z");

  EXPECT_TRUE(JsonEquals(body, R"({"id":"7d0c3e2a-0000-4000-8000-000000000013",
      "timestamp":"2026-11-30T13:00:00.000Z","type":"customer_updated",
      "payload":{"customer":{"id":"d1ce2f48-3ff1-495d-9240-7a50d806cfed"}}})"));
}

TEST(BuildBusinessBodyTest, WritesUpperCaseTypesInLowerCase) {
  Event event = MustParseSample("customers-and-unattributed.jsonl", 2);

  std::string body = BuildBusinessBody(event, "t");

  EXPECT_TRUE(JsonEquals(body, WithUsdc(R"({"id":"7d0c3e2a-0000-4000-8000-000000000015",
      "timestamp":"t","type":"quote_created","payload":{"quote":{"id":"quote-upper-case-type",
      "sell_amount":"5","sell_asset":"$USDC","buy_amount":"5","buy_asset":"iso4217:USD",
      "price":"1","total_price":"1","created_at":"2026-11-30T13:01:00Z"}}})")));
}

TEST(BuildBusinessBodyTest, KeepsNumberTextAndEscapesExactly) {
  Event event = MustParse(R"({"type":"quote_created","id":"e","quote":{"id":"q","a":1.10,)"
                          R"("b":[1e5,-0,-1.5E+3],"c":"1.10","d":"tab\tquote\"nul\u0000",)"
                          R"("e":true,"f":null}})");

  std::string body = BuildBusinessBody(event, "t");

  EXPECT_NE(body.find(R"({"quote":{"id":"q","a":1.10,"b":[1e5,-0,-1.5E+3],"c":"1.10",)"
                      R"("d":"tab\tquote\"nul\u0000","e":true,"f":null}})"),
            std::string::npos)
      << body;
}

TEST(BuildBodiesTest, BodiesOfMutatedSampleRecordsAreValidJson) {
  // Every single-byte change of a sample record either is poison or yields bodies a JSON parser
  // accepts: the writers never emit broken JSON, whatever the record held.
  std::string record = ReadEventLines("sep24-deposit-lifecycle.jsonl")[4];
  int events = 0;

  for (size_t at = 0; at < record.size(); ++at) {
    for (char replacement : {'"', '1', '{', ']', '\\', '\xff', '\x01'}) {
      std::string mutated = record;
      mutated[at] = replacement;
      ParseResult result = ParseEvent(mutated);
      const Event* event = std::get_if<Event>(&result);
      if (event == nullptr) {
        continue;
      }
      ++events;
      rapidjson::Document client;
      rapidjson::Document business;
      client.Parse(BuildClientBody(*event, "https://anchor.example/more").c_str());
      business.Parse(BuildBusinessBody(*event, "t").c_str());
      ASSERT_FALSE(client.HasParseError()) << mutated;
      ASSERT_FALSE(business.HasParseError()) << mutated;
    }
  }
  EXPECT_GT(events, 0);
}

TEST(FormatTimestampTest, WritesUtcWithMilliseconds) {
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  using namespace std::chrono_literals;
  auto day = std::chrono::sys_days{std::chrono::year{2026} / 11 / 30};

  EXPECT_EQ(FormatTimestamp(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(day + 10h + 5min + 42s + 125ms), "2026-11-30T10:05:42.125Z");
  EXPECT_EQ(FormatTimestamp(day + 23h + 59min + 59s + 999999us), "2026-11-30T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(system_clock::time_point{} - milliseconds(1)),
            "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace anchor_events::event
