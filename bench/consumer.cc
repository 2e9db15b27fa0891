// bench_consumer: the Kafka path's own latency, for bench/run's latency phase. A plain
// librdkafka consumer (no subscription, every partition assigned at its end) reads the topic while
// the producer writes it and the processor delivers it, and prints one line per record:
// "<arrival, wall clock µs>\t<record timestamp, ms>". The difference is what Kafka alone adds
// (producer, broker, fetch) on the same loaded machine, beside the processor's end to end.
// Loopback brokers only.
//
//   bench_consumer --brokers H:P --topic T --count N [--seconds S]
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>
#include <time.h>

#include "common.h"

namespace {

constexpr char kTool[] = "bench_consumer";

}  // namespace

int main(int argc, char** argv) {
  std::string brokers;
  std::string topic;
  long count = 0;
  double seconds = 120;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    if (name == "--brokers") brokers = argv[i + 1];
    if (name == "--topic") topic = argv[i + 1];
    if (name == "--count") count = std::atol(argv[i + 1]);
    if (name == "--seconds") seconds = std::atof(argv[i + 1]);
  }
  if (brokers.empty() || topic.empty() || count <= 0) {
    std::fprintf(stderr, "usage: bench_consumer --brokers H:P --topic T --count N [--seconds S]\n");
    return 2;
  }

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  SetOrExit(kTool, conf, "bootstrap.servers", brokers);
  SetOrExit(kTool, conf, "enable.partition.eof", "false");
  // librdkafka's assign() wants a group id; nothing is committed to it.
  SetOrExit(kTool, conf, "group.id", "bench-kafka-path-" + std::to_string(WallMicros()));
  SetOrExit(kTool, conf, "enable.auto.commit", "false");
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  if (rk == nullptr) {
    std::fprintf(stderr, "bench_consumer: %s\n", error);
    return 1;
  }
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, 10000);
  if (err || metadata->topic_cnt != 1 || metadata->topics[0].partition_cnt == 0) {
    std::fprintf(stderr, "bench_consumer: no metadata for %s: %s\n", topic.c_str(),
                 rd_kafka_err2str(err));
    return 1;
  }
  rd_kafka_topic_partition_list_t* partitions =
      rd_kafka_topic_partition_list_new(metadata->topics[0].partition_cnt);
  for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
    rd_kafka_topic_partition_list_add(partitions, topic.c_str(),
                                      metadata->topics[0].partitions[i].id)
        ->offset = RD_KAFKA_OFFSET_END;
  }
  rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(handle);
  if ((err = rd_kafka_assign(rk, partitions)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "bench_consumer: assign: %s\n", rd_kafka_err2str(err));
    return 1;
  }
  rd_kafka_topic_partition_list_destroy(partitions);
  std::fprintf(stderr, "bench_consumer: assigned\n");

  long seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (seen < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const int64_t arrival = WallMicros();
      rd_kafka_timestamp_type_t type;
      std::printf("%" PRId64 "\t%" PRId64 "\n", arrival,
                  rd_kafka_message_timestamp(message, &type));
      ++seen;
    }
    rd_kafka_message_destroy(message);
  }
  std::fflush(stdout);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  std::fprintf(stderr, "bench_consumer: %ld records\n", seen);
  return seen == count ? 0 : 1;
}
