// A lane on the embedded broker (librdkafka's mock cluster) with a real HTTP receiver, shared by
// the lane tests and the broker fault tests.
#pragma once

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "delivery/lane.h"
#include "kafka/embedded_broker.h"
#include "kafka/producer.h"
#include "support/test_receiver.h"
#include "test_data.h"

namespace anchor_events::delivery {

using std::chrono::milliseconds;

inline constexpr const char* kTopic = "TRANSACTION";
inline constexpr auto kArrival = std::chrono::seconds(30);

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class LaneFixture : public ::testing::Test {
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

  // A business-server lane posting to receiver_ (or `receiver`), reading through `feed` while
  // it keeps up when one is given.
  std::unique_ptr<Lane> StartLane(config::RetryPolicy retry, const std::string& group,
                                  const Clock* clock = nullptr,
                                  std::shared_ptr<kafka::Feed> feed = nullptr,
                                  const testing::TestReceiver* receiver = nullptr,
                                  const std::string& name = "callback-api") {
    config::CallbackApiConfig api;
    api.enabled = true;
    api.base_url = (receiver ? receiver : &receiver_)->Url("/callback");
    LaneSettings settings;
    settings.name = name;
    settings.feed = std::move(feed);
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
  testing::TestReceiver receiver_;
  ops::Metrics metrics_;
  ManualClock clock_;
};

inline std::string Header(const kafka::Record& record, const std::string& name) {
  for (const auto& [key, value] : record.headers) {
    if (key == name) return value;
  }
  return "<missing>";
}

// A sample event with its transaction and event ids replaced, so each record has its own key.
inline std::string EventWithKey(int n) {
  std::string event =
      Lines(anchor_events::testing::ReadTestFile("events/sep24-deposit-lifecycle.jsonl"))[0];
  auto replace = [&](const std::string& from, const std::string& to) {
    event.replace(event.find(from), from.size(), to);
  };
  replace("7d0c3e2a-0000-4000-8000-000000000001", "event-" + std::to_string(n));
  replace("a4baff5f-778c-43d6-bbef-3e9fb41d096e", "tx-" + std::to_string(n));
  return event;
}

}  // namespace anchor_events::delivery
