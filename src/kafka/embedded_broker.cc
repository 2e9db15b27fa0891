#include "kafka/embedded_broker.h"

namespace anchor_events::kafka {

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(int brokers) {
  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[256];
  rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
  broker->owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (broker->owner_ == nullptr) {
    return Error{std::string("starting the embedded broker failed: ") + error};
  }
  broker->cluster_ = rd_kafka_mock_cluster_new(broker->owner_, brokers);
  if (broker->cluster_ == nullptr) {
    return Error{"starting the embedded broker failed: mock cluster not created"};
  }
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->cluster_);
  return broker;
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_ != nullptr) {
    rd_kafka_mock_cluster_destroy(cluster_);
  }
  if (owner_ != nullptr) {
    rd_kafka_destroy(owner_);
  }
}

Status EmbeddedBroker::CreateTopic(const std::string& topic, int partitions) {
  if (rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
      err) {
    return Error{"creating topic " + topic + " failed: " + rd_kafka_err2str(err)};
  }
  return {};
}

}  // namespace anchor_events::kafka
