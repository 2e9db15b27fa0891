// The group consumer: closing it at any moment of its first group join.
#include "kafka/consumer.h"

#include <chrono>
#include <cstdlib>
#include <ctime>

#include <gtest/gtest.h>
#include <unistd.h>

#include "kafka/embedded_broker.h"
#include "kafka/producer.h"

namespace anchor_events::kafka {
namespace {

struct Listener : RebalanceListener {
  void OnAssigned(const std::vector<int32_t>& partitions) override {
    assigned += partitions.size();
  }
  void OnRevoked(const std::vector<int32_t>&, bool) override {}
  size_t assigned = 0;
};

// librdkafka 2.0.2 aborts the process when a cooperative-sticky consumer is closed between its
// group's JoinGroup and its first assignment (upstream issue 4312). A lane stopped right after it
// started (a reload, a shutdown) must not land there: Close waits for the first assignment. The
// embedded broker answers a join too fast to stop in that window, so with KAFKA_BOOTSTRAP set
// (scripts/test.sh starts a real broker) the test runs against the real one.
TEST(ConsumerTest, ClosingAtAnyMomentOfTheFirstJoinNeitherAbortsNorHangs) {
  std::unique_ptr<EmbeddedBroker> embedded;
  config::KafkaConfig kafka;
  int moments = 40;  // 0 to 39 ms after it started
  const std::string topic =
      "consumer-close-" + std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr));
  if (const char* real = std::getenv("KAFKA_BOOTSTRAP"); real != nullptr && *real != '\0') {
    kafka.bootstrap_server = real;
    auto producer = std::move(Producer::Create(kafka)).value();
    ASSERT_TRUE(producer->ProduceSync({topic, "key", "creates the topic", {}}).ok());
  } else {
    embedded = std::move(EmbeddedBroker::Start()).value();
    ASSERT_TRUE(embedded->CreateTopic(topic, 3).ok());
    kafka.bootstrap_server = embedded->bootstrap_servers();
    moments = 2;  // its joins take seconds each, and never stop in the window
  }
  for (int delay_ms = 0; delay_ms < moments; ++delay_ms) {
    Listener listener;
    ConsumerOptions options;
    options.kafka = kafka;
    options.group_id = topic + "-" + std::to_string(delay_ms);
    options.topic = topic;
    auto consumer = std::move(Consumer::Create(options, &listener)).value();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      consumer->Poll(1);  // serves the group protocol, as a lane's loop does
    }
    const auto closing = std::chrono::steady_clock::now();
    consumer->Close();
    EXPECT_LT(std::chrono::steady_clock::now() - closing, std::chrono::seconds(10)) << delay_ms;
    EXPECT_GT(listener.assigned, 0u) << "closed only once assigned, at " << delay_ms << " ms";
  }
}

}  // namespace
}  // namespace anchor_events::kafka
