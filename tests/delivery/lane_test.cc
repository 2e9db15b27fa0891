// Lane behaviour on the embedded broker (librdkafka's mock cluster) with real HTTP receivers
// and an injected clock for the retry schedule.
#include "delivery/lane.h"

#include <thread>

#include <gtest/gtest.h>

#include "kafka/embedded_broker.h"
#include "kafka/producer.h"
#include "support/test_receiver.h"
#include "test_data.h"

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using testing::CannedResponse;
using testing::RecordedRequest;
using testing::TestReceiver;

constexpr const char* kTopic = "TRANSACTION";
constexpr auto kArrival = std::chrono::seconds(30);

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class LaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::move(kafka::EmbeddedBroker::Start()).value();
    ASSERT_TRUE(broker_->CreateTopic(kTopic, 1).ok());
    kafka_.bootstrap_server = broker_->bootstrap_servers();
    producer_ = std::move(kafka::Producer::Create(kafka_)).value();
    receiver_.Start();
  }

  void Produce(const std::vector<std::string>& values) {
    for (const std::string& value : values) {
      ASSERT_TRUE(producer_->ProduceSync({kTopic, std::nullopt, value, {}}).ok());
    }
  }

  std::unique_ptr<Lane> StartLane(config::RetryPolicy retry, const std::string& group) {
    config::CallbackApiConfig api;
    api.enabled = true;
    api.base_url = receiver_.Url("/callback");
    LaneSettings settings;
    settings.name = "callback-api";
    settings.options.retry = retry;
    settings.options.max_in_flight = 8;
    settings.destination = std::make_shared<BusinessDestination>(api);
    settings.consumer.kafka = kafka_;
    settings.consumer.group_id = group;
    settings.consumer.topic = kTopic;
    settings.consumer.start_offset = config::StartOffset::kEarliest;
    auto lane = std::make_unique<Lane>(settings, &metrics_, &clock_);
    EXPECT_TRUE(lane->Start().ok());
    return lane;
  }

  // Waits until the lane has seen the answer to attempt `n`, so the retry is scheduled from
  // the injected clock's current time.
  bool WaitForFailedAttempts(int n) {
    std::string line = "anchor_events_attempts_total{lane=\"callback-api\",status_class=\"5xx\"} " +
                       std::to_string(n);
    auto deadline = std::chrono::steady_clock::now() + kArrival;
    while (std::chrono::steady_clock::now() < deadline) {
      if (metrics_.Serialize().find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  // Waits a little real time and reports how many requests arrived; used to show that
  // nothing more happens until the injected clock moves.
  size_t RequestsAfterQuietPeriod() {
    std::this_thread::sleep_for(milliseconds(400));
    return receiver_.Requests().size();
  }

  std::unique_ptr<kafka::EmbeddedBroker> broker_;
  config::KafkaConfig kafka_;
  std::unique_ptr<kafka::Producer> producer_;
  TestReceiver receiver_;
  ops::Metrics metrics_;
  ManualClock clock_;
};

TEST_F(LaneTest, RetriesOnTheBackoffScheduleThenGivesUp) {
  receiver_.Respond([](const RecordedRequest&) { return CannedResponse{500, {}, ""}; });
  std::string first =
      Lines(anchor_events::testing::ReadTestFile("events/sep24-deposit-lifecycle.jsonl"))[0];
  Produce({first});
  config::RetryPolicy retry;  // 3 attempts, 1 s then 2 s, +/- 20 %
  auto lane = StartLane(retry, "lane-test-retry");

  ASSERT_TRUE(WaitForFailedAttempts(1));
  EXPECT_EQ(RequestsAfterQuietPeriod(), 1u);
  clock_.Advance(milliseconds(1250));
  ASSERT_TRUE(WaitForFailedAttempts(2));
  clock_.Advance(milliseconds(1500));
  EXPECT_EQ(RequestsAfterQuietPeriod(), 2u);
  clock_.Advance(milliseconds(1000));
  ASSERT_TRUE(WaitForFailedAttempts(3));
  clock_.Advance(milliseconds(60000));

  EXPECT_EQ(RequestsAfterQuietPeriod(), 3u);
  EXPECT_NE(metrics_.Serialize().find(
                "anchor_events_deliveries_total{lane=\"callback-api\",outcome=\"exhausted\"} 1"),
            std::string::npos);
  lane->Stop(clock_.Now());
  lane->Join();
}

TEST_F(LaneTest, DeliversInOrderSkipsPoisonAndCommits) {
  std::vector<std::string> records =
      Lines(anchor_events::testing::ReadTestFile("events/poison.txt"));
  for (const std::string& line :
       Lines(anchor_events::testing::ReadTestFile("events/sep24-deposit-lifecycle.jsonl"))) {
    records.push_back(line);
  }
  Produce(records);

  auto lane = StartLane(config::RetryPolicy{}, "lane-test-order");
  ASSERT_TRUE(receiver_.WaitFor(5, kArrival));
  lane->Stop(clock_.Now());
  lane->Join();
  auto restarted = StartLane(config::RetryPolicy{}, "lane-test-order");
  std::this_thread::sleep_for(std::chrono::seconds(6));  // a group join on the mock broker
  restarted->Stop(clock_.Now());
  restarted->Join();

  std::vector<RecordedRequest> requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), 5u) << "delivered records were committed and not sent again";
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].path, "/callback/event");
    EXPECT_NE(requests[i].body.find("\"id\":\"7d0c3e2a-0000-4000-8000-00000000000" +
                                    std::to_string(i + 1) + "\""),
              std::string::npos)
        << i;
  }
  EXPECT_NE(
      metrics_.Serialize().find(
          "anchor_events_poison_records_total{lane=\"callback-api\",reason=\"invalid_json\"}"),
      std::string::npos);
}

}  // namespace
}  // namespace anchor_events::delivery
