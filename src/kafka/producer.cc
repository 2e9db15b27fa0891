#include "kafka/producer.h"

#include <atomic>
#include <chrono>

#include "kafka/client_config.h"

namespace anchor_events::kafka {
namespace {

// Filled by the delivery report callback of one synchronous produce.
struct Ack {
  std::atomic<bool> done{false};
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  auto* ack = static_cast<Ack*>(message->_private);
  if (ack != nullptr) {
    ack->error = message->err;
    ack->done.store(true);
  }
}

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Create(const config::KafkaConfig& kafka,
                                                   DeliveryCallback on_delivery) {
  Result<ConfPtr> conf = BaseConf(kafka);
  if (!conf.ok()) {
    return conf.error();
  }
  const std::vector<std::pair<std::string, std::string>> properties = {
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"message.send.max.retries", std::to_string(std::max(kafka.retries, 1) * 1000)},
      {"linger.ms", std::to_string(kafka.linger_ms)},
      {"batch.num.messages", std::to_string(kafka.batch_size)},
  };
  for (const auto& [name, value] : properties) {
    if (Status status = SetProperty(conf->get(), name, value); !status.ok()) {
      return status.error();
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery != nullptr ? on_delivery : OnDelivery);
  std::unique_ptr<Producer> producer(new Producer());
  char error[512];
  producer->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf->release(), error, sizeof(error));
  if (producer->handle_ == nullptr) {
    return Error{std::string("creating the Kafka producer failed: ") + error};
  }
  return producer;
}

Producer::~Producer() {
  if (handle_ != nullptr) {
    rd_kafka_flush(handle_, 5000);
    rd_kafka_destroy(handle_);
  }
}

Status Producer::ProduceAsync(const OutgoingRecord& record, void* opaque) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
  for (const auto& [name, value] : record.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  const void* key = record.key ? record.key->data() : nullptr;
  size_t key_size = record.key ? record.key->size() : 0;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      handle_, RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_PARTITION(record.partition),
      RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
      RD_KAFKA_V_KEY(key, key_size), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err) {
    rd_kafka_headers_destroy(headers);
    return Error{"producing failed for topic " + record.topic + ": " + rd_kafka_err2str(err)};
  }
  return {};
}

Status Producer::ProduceSync(const OutgoingRecord& record, int timeout_ms) {
  Ack ack;
  if (Status status = ProduceAsync(record, &ack); !status.ok()) {
    return status;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!ack.done.load()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      // The report may still arrive and would write to `ack`: wait for it without bound,
      // the alternative is a dangling pointer.
      while (!ack.done.load()) rd_kafka_poll(handle_, 100);
      return Error{"producing timed out for topic " + record.topic};
    }
    rd_kafka_poll(handle_, 50);
  }
  if (ack.error) {
    return Error{"producing failed for topic " + record.topic + ": " + rd_kafka_err2str(ack.error)};
  }
  return {};
}

Status Producer::Flush(int timeout_ms) {
  if (rd_kafka_resp_err_t err = rd_kafka_flush(handle_, timeout_ms); err) {
    return Error{std::string("flushing the producer failed: ") + rd_kafka_err2str(err)};
  }
  return {};
}

}  // namespace anchor_events::kafka
