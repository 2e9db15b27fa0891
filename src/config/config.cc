#include "config/config.h"

namespace anchor_events::config {

LaneOptions DefaultClientLaneOptions() {
  LaneOptions lane;
  lane.retry.max_attempts = 3;
  lane.retry.initial_backoff = std::chrono::milliseconds(1000);
  lane.retry.max_backoff = std::chrono::milliseconds(2000);
  return lane;
}

LaneOptions DefaultCallbackApiLaneOptions() {
  LaneOptions lane;
  lane.retry.max_attempts = 10;
  lane.retry.initial_backoff = std::chrono::milliseconds(1000);
  lane.retry.max_backoff = std::chrono::milliseconds(300000);
  return lane;
}

}  // namespace anchor_events::config
