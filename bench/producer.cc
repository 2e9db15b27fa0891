// bench_producer: fills a topic for the benchmark (bench/run). Reads records from a file, one
// "<key>\t<value>" per line, and produces them with the record timestamp set to the wall clock
// at the moment each is handed to librdkafka, either as fast as possible or paced at a fixed
// rate (--rate N records/s, linger 0, for the latency measurement). Loopback brokers only.
//
//   bench_producer --brokers H:P --topic T --input FILE [--rate 0] [--limit N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <time.h>

#include "common.h"

namespace {

int g_failed = 0;

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  if (message->err) ++g_failed;
}

constexpr char kTool[] = "bench_producer";

}  // namespace

int main(int argc, char** argv) {
  std::string brokers;
  std::string topic;
  std::string input;
  double rate = 0;
  long limit = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    if (name == "--brokers") brokers = argv[i + 1];
    if (name == "--topic") topic = argv[i + 1];
    if (name == "--input") input = argv[i + 1];
    if (name == "--rate") rate = std::atof(argv[i + 1]);
    if (name == "--limit") limit = std::atol(argv[i + 1]);
  }
  if (brokers.empty() || topic.empty() || input.empty()) {
    std::fprintf(stderr, "usage: bench_producer --brokers H:P --topic T --input FILE [--rate N]\n");
    return 2;
  }
  std::vector<std::string> lines;
  std::ifstream in(input);
  for (std::string line; std::getline(in, line);) {
    if (line.find('\t') != std::string::npos) lines.push_back(std::move(line));
    if (limit >= 0 && static_cast<long>(lines.size()) >= limit) break;
  }

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  SetOrExit(kTool, conf, "bootstrap.servers", brokers);
  SetOrExit(kTool, conf, "acks", "all");
  SetOrExit(kTool, conf, "linger.ms", rate > 0 ? "0" : "20");
  SetOrExit(kTool, conf, "batch.num.messages", "10000");
  // Record batches no larger than the Platform's Java producer makes (batch.size 16384): a
  // consumer fetches whole batches, so larger ones would make every prefetch bound coarser.
  SetOrExit(kTool, conf, "batch.size", "16384");
  SetOrExit(kTool, conf, "queue.buffering.max.messages", "1000000");
  SetOrExit(kTool, conf, "compression.type", "none");
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (rk == nullptr) {
    std::fprintf(stderr, "bench_producer: %s\n", error);
    return 1;
  }

  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (rate > 0) {
      auto due = start + std::chrono::nanoseconds(
                             static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate));
      std::this_thread::sleep_until(due);
    }
    const std::string& line = lines[i];
    size_t tab = line.find('\t');
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(line.data(), tab),
          RD_KAFKA_V_VALUE(const_cast<char*>(line.data() + tab + 1), line.size() - tab - 1),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(WallMicros() / 1000),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (err) {
        std::fprintf(stderr, "bench_producer: produce failed: %s\n", rd_kafka_err2str(err));
        return 1;
      }
      break;
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rd_kafka_destroy(rk);
  std::fprintf(stderr, "bench_producer: %zu records in %.2f s, %d failed\n", lines.size(), seconds,
               g_failed);
  return g_failed == 0 ? 0 : 1;
}
