// librdkafka's mock cluster as an embedded Kafka broker on loopback, for the demo and for
// fault-injection tests. Not a stand-in for a real broker in end-to-end tests.
#pragma once

#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "base/result.h"

namespace anchor_events::kafka {

class EmbeddedBroker {
 public:
  static Result<std::unique_ptr<EmbeddedBroker>> Start(int brokers = 1);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  Status CreateTopic(const std::string& topic, int partitions);
  const std::string& bootstrap_servers() const { return bootstrap_; }
  rd_kafka_mock_cluster_t* cluster() { return cluster_; }

 private:
  EmbeddedBroker() = default;
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace anchor_events::kafka
