// Lane behaviour on the embedded broker (librdkafka's mock cluster) with real HTTP receivers
// and an injected clock for the retry schedule.
#include "delivery/lane.h"

#include <algorithm>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "delivery/lane_fixture.h"

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using testing::CannedResponse;
using testing::RecordedRequest;

class LaneTest : public LaneFixture {};

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

TEST_F(LaneTest, AFullReadAheadWindowStopsReadingWithoutPausingOrLosingRecords) {
  // A destination slower than Kafka: the lane reads at most its window (max(256, 16 x 8)) past
  // the acknowledged offsets, and everything arrives once, in order, without a gap.
  receiver_.Respond([](const RecordedRequest&) {
    std::this_thread::sleep_for(milliseconds(2));
    return CannedResponse{200, {}, ""};
  });
  constexpr int kEvents = 1500;
  std::vector<std::string> events;
  for (int i = 0; i < kEvents; ++i) events.push_back(EventWithKey(i));
  Produce(events);
  auto lane = StartLane(config::RetryPolicy{}, "lane-test-window", &Clock::Real());

  int64_t widest = 0;
  bool seen_full = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (receiver_.Requests().size() < kEvents && std::chrono::steady_clock::now() < deadline) {
    LaneStatus status = lane->Snapshot();
    widest = std::max(widest, status.window);
    seen_full = seen_full || status.paused;
    std::this_thread::sleep_for(milliseconds(20));
  }
  lane->Stop(clock_.Now());
  lane->Join();

  EXPECT_LE(widest, 256);
  EXPECT_TRUE(seen_full) << "the destination was slower than Kafka, so the window filled";
  std::vector<RecordedRequest> requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), static_cast<size_t>(kEvents));
  std::set<std::string> ids;
  for (const RecordedRequest& r : requests) {
    size_t at = r.body.find("\"event-");
    ASSERT_NE(at, std::string::npos);
    ids.insert(r.body.substr(at, r.body.find('"', at + 1) - at));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kEvents)) << "every event once";
}

}  // namespace
}  // namespace anchor_events::delivery
