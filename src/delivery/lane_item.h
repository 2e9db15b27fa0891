// The per-record state a lane keeps while a record is unfinished. Private to the lane's sources.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "delivery/lane.h"

namespace anchor_events::delivery {

struct Lane::Item {
  uint64_t id = 0;
  std::shared_ptr<const kafka::Record> record;  // kept whole for the dead-letter topic
  std::string key;  // scheduler key: partition and object id; empty for poison
  std::string event_id;
  std::shared_ptr<const Prepared> prepared;  // null for poison
  int attempts = 0;
  bool in_flight = false;
  long last_status = 0;
  std::string last_error;
  std::string reason;  // why it is being dead-lettered
  bool probe = false;  // this attempt tests whether the destination is back; it is not counted
  std::chrono::steady_clock::time_point first_attempt_started;
  std::chrono::system_clock::time_point first_attempt;
  std::chrono::system_clock::time_point last_attempt;
};

// Answers from the dead-letter writer's thread, handed to the lane thread. Shared so a late
// answer after the lane is gone touches only this.
struct Lane::DeadLetterAcks {
  std::mutex mutex;
  std::vector<std::pair<uint64_t, Status>> acks;
  HttpSender* wake = nullptr;  // cleared when the lane thread ends
};

}  // namespace anchor_events::delivery
