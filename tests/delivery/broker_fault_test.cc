// Broker faults a real broker cannot easily produce (issue 3, scenario 8), injected with the
// embedded broker's error injection: failing commits, failing fetches, a broker that goes down
// and comes back, and a dead-letter topic that refuses writes. Each test ends with the account:
// every produced event was received at least once or is in the dead-letter topic.
#include <set>

#include "delivery/lane_fixture.h"

namespace anchor_events::delivery {
namespace {

using testing::CannedResponse;
using testing::RecordedRequest;

// Kafka protocol API keys (the mock cluster injects errors per request type).
constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kOffsetCommit = 8;

class BrokerFaultTest : public LaneFixture {
 protected:
  std::vector<std::string> Events(int from, int count) {
    std::vector<std::string> events;
    for (int i = from; i < from + count; ++i) events.push_back(EventWithKey(i));
    return events;
  }

  // The distinct event ids the receiver has seen.
  std::set<std::string> Received() {
    std::set<std::string> ids;
    for (const RecordedRequest& request : receiver_.Requests()) {
      auto it = request.headers.find("X-Anchor-Event-Id");
      if (it != request.headers.end()) ids.insert(it->second);
    }
    return ids;
  }

  bool WaitForDistinct(size_t count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Received().size() >= count) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  static void ExpectAll(const std::set<std::string>& received, int count) {
    for (int i = 0; i < count; ++i) {
      EXPECT_TRUE(received.count("event-" + std::to_string(i))) << "lost event-" << i;
    }
  }

  config::RetryPolicy fast_retry_{5, milliseconds(50), milliseconds(200), 2.0, 0.2};
};

TEST_F(BrokerFaultTest, FailingCommitsLoseNothingAndBoundDuplicates) {
  // With the coordinator errors below the first member's LeaveGroup may not reach the
  // coordinator, which then waits out its session before the second member gets the partition:
  // a short session keeps that wait well inside the test's deadline.
  kafka_.properties["session.timeout.ms"] = "6000";
  kafka_.properties["heartbeat.interval.ms"] = "500";
  rd_kafka_mock_push_request_errors(
      broker_->cluster(), kOffsetCommit, 6, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  Produce(Events(0, 50));

  auto lane = StartLane(fast_retry_, "fault-commit", &Clock::Real());
  ASSERT_TRUE(WaitForDistinct(50));
  lane->Stop(Clock::Real().Now() + std::chrono::seconds(5));
  lane->Join();
  Produce(Events(50, 10));
  auto second = StartLane(fast_retry_, "fault-commit", &Clock::Real());
  ASSERT_TRUE(WaitForDistinct(60));
  second->Stop(Clock::Real().Now() + std::chrono::seconds(5));
  second->Join();

  ExpectAll(Received(), 60);
  // Whatever the failed commits held back is delivered again, never more than one window.
  EXPECT_LE(receiver_.Requests().size(), 60u + 50u);
}

TEST_F(BrokerFaultTest, FetchErrorsAndABrokerOutageLoseNothing) {
  rd_kafka_mock_push_request_errors(
      broker_->cluster(), kFetch, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  Produce(Events(0, 30));
  auto lane = StartLane(fast_retry_, "fault-fetch", &Clock::Real());
  ASSERT_TRUE(WaitForDistinct(30));

  rd_kafka_mock_broker_set_down(broker_->cluster(), 1);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  rd_kafka_mock_broker_set_up(broker_->cluster(), 1);
  Produce(Events(30, 30));
  ASSERT_TRUE(WaitForDistinct(60));
  lane->Stop(Clock::Real().Now() + std::chrono::seconds(5));
  lane->Join();

  ExpectAll(Received(), 60);
  EXPECT_TRUE(lane->Snapshot().joined);
}

TEST_F(BrokerFaultTest, RefusedDeadLetterWriteHoldsTheOffsetUntilItSucceeds) {
  receiver_.Respond([](const RecordedRequest& request) {
    bool rejected = request.body.find("\"event-2\"") != std::string::npos;
    return CannedResponse{rejected ? 400 : 200, {}, ""};
  });
  rd_kafka_mock_topic_set_error(broker_->cluster(), kafka_.dead_letter_topic.c_str(),
                                RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  Produce(Events(0, 5));

  auto lane = StartLane(fast_retry_, "fault-dlq", &Clock::Real());
  ASSERT_TRUE(WaitForDistinct(5));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  lane->Stop(Clock::Real().Now() + std::chrono::seconds(2));
  lane->Join();
  size_t rejected_before_restart = 0;
  for (const RecordedRequest& r : receiver_.Requests()) {
    rejected_before_restart += r.body.find("\"event-2\"") != std::string::npos ? 1 : 0;
  }
  rd_kafka_mock_topic_set_error(broker_->cluster(), kafka_.dead_letter_topic.c_str(),
                                RD_KAFKA_RESP_ERR_NO_ERROR);
  auto second = StartLane(fast_retry_, "fault-dlq", &Clock::Real());
  std::vector<kafka::Record> letters = DeadLetters(1);
  second->Stop(Clock::Real().Now() + std::chrono::seconds(5));
  second->Join();

  // The refused write kept event-2's offset uncommitted, so the restarted lane read it again
  // and dead-lettered it once the topic accepted writes.
  EXPECT_EQ(rejected_before_restart, 1u);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(Header(letters[0], kafka::dead_letter_header::kEventId), "event-2");
  EXPECT_EQ(Header(letters[0], kafka::dead_letter_header::kReason), "rejected");
  ExpectAll(Received(), 5);
  (void)kProduce;
}

}  // namespace
}  // namespace anchor_events::delivery
