// A Kafka producer for the service's own writes (dead letters, `produce`, the demo), configured
// from the seed keys retries, linger_ms and batch_size (SPEC §7.2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "base/result.h"
#include "config/config.h"

namespace anchor_events::kafka {

struct OutgoingRecord {
  std::string topic;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  int32_t partition = RD_KAFKA_PARTITION_UA;
};

// Thread-safe (librdkafka producers are).
class Producer {
 public:
  using DeliveryCallback = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*);

  // `on_delivery` (optional) receives every delivery report; the message's `_private` is the
  // opaque given to ProduceAsync. ProduceSync needs the default callback.
  static Result<std::unique_ptr<Producer>> Create(const config::KafkaConfig& kafka,
                                                  DeliveryCallback on_delivery = nullptr);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Produces and waits for the broker's acknowledgement (acks=all), up to `timeout_ms`.
  Status ProduceSync(const OutgoingRecord& record, int timeout_ms = 30000);
  // Queues the record; the report reaches the delivery callback with `opaque`, on the thread
  // that polls handle(). Fails at once when the local queue is full.
  Status ProduceAsync(const OutgoingRecord& record, void* opaque);
  // Waits for everything queued to be acknowledged.
  Status Flush(int timeout_ms);
  rd_kafka_t* handle() { return handle_; }

 private:
  Producer() = default;
  rd_kafka_t* handle_ = nullptr;
};

}  // namespace anchor_events::kafka
