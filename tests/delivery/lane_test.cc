// Lane behaviour on the embedded broker (librdkafka's mock cluster) with real HTTP receivers
// and an injected clock for the retry schedule.
#include "delivery/lane.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
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

// The event ids of `requests`, in arrival order.
std::vector<std::string> EventIds(const std::vector<RecordedRequest>& requests) {
  std::vector<std::string> ids;
  for (const RecordedRequest& r : requests) {
    size_t at = r.body.find("\"event-");
    ids.push_back(at == std::string::npos ? "" : r.body.substr(at, r.body.find('"', at + 1) - at));
  }
  return ids;
}

TEST_F(LaneTest, LanesSharingAFetchDeliverEverythingWhileOneDestinationIsDown) {
  // A second destination that answers 503 until it is back up; it records what it accepted.
  struct Flaky {
    std::mutex mutex;
    bool up = false;
    std::multiset<std::string> accepted;
  } flaky;
  testing::TestReceiver down;
  down.Respond([&flaky](const RecordedRequest& request) {
    std::lock_guard<std::mutex> lock(flaky.mutex);
    if (!flaky.up) return CannedResponse{503, {}, ""};
    flaky.accepted.insert(EventIds({request})[0]);
    return CannedResponse{200, {}, ""};
  });
  down.Start();
  auto accepted = [&flaky] {
    std::lock_guard<std::mutex> lock(flaky.mutex);
    return flaky.accepted;
  };
  kafka::FeedOptions options;
  options.kafka = kafka_;
  options.topic = kTopic;
  options.max_records = 64;
  std::shared_ptr<kafka::Feed> feed = std::move(kafka::Feed::Create(options)).value();
  config::RetryPolicy retry{3, milliseconds(50), milliseconds(100), 2.0, 0.2};

  std::vector<std::string> events;
  for (int i = 0; i < 400; ++i) events.push_back(EventWithKey(i));
  auto set_up = [&flaky](bool up) {
    std::lock_guard<std::mutex> lock(flaky.mutex);
    flaky.up = up;
  };
  auto wait_until = [](const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + kArrival;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    return done();
  };
  auto distinct_accepted = [&accepted] {
    std::multiset<std::string> ids = accepted();
    return std::set<std::string>(ids.begin(), ids.end()).size();
  };

  // Both destinations up: caught up, both lanes read through the shared fetch.
  set_up(true);
  Produce({events.begin(), events.begin() + 10});
  auto healthy = StartLane(retry, "lane-test-shared-a", &Clock::Real(), feed);
  auto failing = StartLane(retry, "lane-test-shared-b", &Clock::Real(), feed, &down, "failing");
  ASSERT_TRUE(receiver_.WaitFor(10, kArrival));
  EXPECT_TRUE(wait_until([&] { return distinct_accepted() == 10; }));
  EXPECT_TRUE(wait_until([&] { return !healthy->Snapshot().shared_partitions.empty(); }));
  EXPECT_TRUE(wait_until([&] { return !failing->Snapshot().shared_partitions.empty(); }));
  EXPECT_EQ(feed->cursors(), 2u);
  EXPECT_TRUE(wait_until(
      [&] { return Metric("anchor_events_shared_partitions{lane=\"failing\"}") == "1"; }));

  // One destination goes down: its lane stops taking records, and the feed lets it go instead
  // of holding the healthy lane back.
  set_up(false);
  Produce({events.begin() + 10, events.end()});
  ASSERT_TRUE(receiver_.WaitFor(400, kArrival));
  EXPECT_NE(failing->Snapshot().circuit, "closed");
  EXPECT_EQ(feed->cursors(), 1u);

  // Back up, the failing lane fetches on its own from where it was, delivers everything, and
  // once caught up it shares again.
  set_up(true);
  EXPECT_TRUE(wait_until([&] { return distinct_accepted() >= 400; }));
  EXPECT_TRUE(wait_until([&] { return feed->cursors() == 2u; }));
  Produce({EventWithKey(400)});
  ASSERT_TRUE(receiver_.WaitFor(401, kArrival));
  EXPECT_TRUE(wait_until([&] { return accepted().count("\"event-400") == 1; }));
  healthy->Stop(clock_.Now());
  failing->Stop(clock_.Now());
  healthy->Join();
  failing->Join();

  std::set<std::string> expected;
  for (int i = 0; i <= 400; ++i) expected.insert("\"event-" + std::to_string(i));
  std::vector<std::string> healthy_ids = EventIds(receiver_.Requests());
  EXPECT_EQ(std::multiset<std::string>(healthy_ids.begin(), healthy_ids.end()),
            std::multiset<std::string>(expected.begin(), expected.end()))
      << "the healthy lane delivers each event once";
  std::multiset<std::string> failing_ids = accepted();
  EXPECT_EQ(std::set<std::string>(failing_ids.begin(), failing_ids.end()), expected)
      << "the lane that was down delivers every event after all";
  EXPECT_EQ(metrics_.Serialize().find("anchor_events_dead_lettered_total"), std::string::npos);
}

}  // namespace
}  // namespace anchor_events::delivery
