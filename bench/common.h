// Shared by the bench tools that talk to Kafka: the wall clock, and one librdkafka property or
// exit with its error.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <librdkafka/rdkafka.h>
#include <time.h>

inline int64_t WallMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

inline void SetOrExit(const char* tool, rd_kafka_conf_t* conf, const char* name,
                      const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "%s: %s: %s\n", tool, name, error);
    std::exit(2);
  }
}
