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
    ASSERT_TRUE(broker_->CreateTopic(kafka_.dead_letter_topic, 1).ok());
    producer_ = std::move(kafka::Producer::Create(kafka_)).value();
    dead_letters_ = std::move(kafka::DeadLetterWriter::Create(kafka_)).value();
    receiver_.Start();
  }

  void Produce(const std::vector<std::string>& values) {
    for (const std::string& value : values) {
      ASSERT_TRUE(producer_->ProduceSync({kTopic, std::nullopt, value, {}}).ok());
    }
  }

  std::unique_ptr<Lane> StartLane(config::RetryPolicy retry, const std::string& group,
                                  const Clock* clock = nullptr) {
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
    settings.circuit = {3, milliseconds(100), milliseconds(400)};
    settings.dead_letters = dead_letters_;
    settings.dead_letter_poison = true;
    auto lane = std::make_unique<Lane>(settings, &metrics_, clock ? clock : &clock_);
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

  // Every record of the dead-letter topic, read with a consumer of its own.
  std::vector<kafka::Record> DeadLetters(size_t expected) {
    struct NoRebalance : kafka::RebalanceListener {
      void OnAssigned(const std::vector<int32_t>&) override {}
      void OnRevoked(const std::vector<int32_t>&, bool) override {}
    } listener;
    kafka::ConsumerOptions options;
    options.kafka = kafka_;
    options.group_id = "dead-letter-reader";
    options.topic = kafka_.dead_letter_topic;
    options.start_offset = config::StartOffset::kEarliest;
    auto consumer = std::move(kafka::Consumer::Create(options, &listener)).value();
    std::vector<kafka::Record> records;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (records.size() < expected && std::chrono::steady_clock::now() < deadline) {
      if (auto record = consumer->Poll(100)) records.push_back(std::move(*record));
    }
    consumer->Close();
    return records;
  }

  std::string Metric(const std::string& series) {
    std::string text = metrics_.Serialize();
    size_t at = text.find(series + " ");
    if (at == std::string::npos) return "";
    size_t end = text.find('\n', at);
    return text.substr(at + series.size() + 1, end - at - series.size() - 1);
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
  std::shared_ptr<kafka::DeadLetterWriter> dead_letters_;
  TestReceiver receiver_;
  ops::Metrics metrics_;
  ManualClock clock_;
};

TEST_F(LaneTest, RetriesOnTheBackoffScheduleThenTreatsSilenceAsAnOutage) {
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

  // Nothing else answered since the first try, so the destination is down, not rejecting this
  // event: the lane pauses and probes instead of giving up on it.
  EXPECT_EQ(RequestsAfterQuietPeriod(), 3u);
  EXPECT_EQ(Metric("anchor_events_circuit_open{lane=\"callback-api\"}"), "1");
  EXPECT_EQ(Metric("anchor_events_deliveries_total{lane=\"callback-api\",outcome=\"exhausted\"}"),
            "0");
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

std::string Header(const kafka::Record& record, const std::string& name) {
  for (const auto& [key, value] : record.headers) {
    if (key == name) return value;
  }
  return "<missing>";
}

// A sample event with its transaction and event ids replaced, so each record has its own key.
std::string EventWithKey(int n) {
  std::string event =
      Lines(anchor_events::testing::ReadTestFile("events/sep24-deposit-lifecycle.jsonl"))[0];
  auto replace = [&](const std::string& from, const std::string& to) {
    event.replace(event.find(from), from.size(), to);
  };
  replace("7d0c3e2a-0000-4000-8000-000000000001", "event-" + std::to_string(n));
  replace("a4baff5f-778c-43d6-bbef-3e9fb41d096e", "tx-" + std::to_string(n));
  return event;
}

TEST_F(LaneTest, OutagePausesTheLaneAndDeadLettersNothing) {
  const int port = receiver_.port();
  receiver_.Stop();
  std::vector<std::string> events;
  for (int i = 0; i < 6; ++i) events.push_back(EventWithKey(i));
  Produce(events);
  config::RetryPolicy retry{3, milliseconds(50), milliseconds(100), 2.0, 0.2};
  auto lane = StartLane(retry, "lane-test-outage", &Clock::Real());

  auto deadline = std::chrono::steady_clock::now() + kArrival;
  while (lane->Snapshot().circuit == "closed" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_NE(lane->Snapshot().circuit, "closed");
  std::this_thread::sleep_for(std::chrono::seconds(2));  // many retry periods: nothing expires
  EXPECT_EQ(Metric("anchor_events_circuit_open{lane=\"callback-api\"}"), "1");
  receiver_.Start(port);
  ASSERT_TRUE(receiver_.WaitFor(6, kArrival));
  lane->Stop(clock_.Now());
  lane->Join();

  EXPECT_EQ(lane->Snapshot().circuit, "closed");
  EXPECT_EQ(Metric("anchor_events_circuit_open{lane=\"callback-api\"}"), "0");
  EXPECT_EQ(metrics_.Serialize().find("anchor_events_dead_lettered_total"), std::string::npos);
}

TEST_F(LaneTest, EventThatKeepsFailingIsDeadLetteredWhileOthersFlow) {
  receiver_.Respond([](const RecordedRequest& request) {
    bool poison = request.body.find("\"event-3\"") != std::string::npos;
    return CannedResponse{poison ? 500 : 200, {}, ""};
  });
  std::vector<std::string> events;
  for (int i = 0; i < 40; ++i) events.push_back(EventWithKey(i));
  Produce(events);
  config::RetryPolicy retry{3, milliseconds(200), milliseconds(400), 2.0, 0.2};
  auto lane = StartLane(retry, "lane-test-poison", &Clock::Real());

  std::vector<kafka::Record> letters = DeadLetters(1);
  lane->Stop(clock_.Now());
  lane->Join();

  ASSERT_EQ(letters.size(), 1u);
  const kafka::Record& letter = letters[0];
  EXPECT_EQ(letter.value, events[3]);
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kLane), "callback-api");
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kReason), "exhausted");
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kAttempts), "3");
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kLastStatus), "500");
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kSourceTopic), kTopic);
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kSourcePartition), "0");
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kSourceOffset), "3");
  EXPECT_EQ(Header(letter, kafka::dead_letter_header::kEventId), "event-3");
  EXPECT_NE(Header(letter, kafka::dead_letter_header::kFirstAttemptAt), "");
  size_t delivered = 0;
  for (const RecordedRequest& r : receiver_.Requests()) {
    delivered += r.body.find("\"event-3\"") == std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(delivered, 39u);
}

}  // namespace
}  // namespace anchor_events::delivery
