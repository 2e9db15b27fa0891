#include "delivery/key_scheduler.h"

#include <algorithm>
#include <cassert>

namespace anchor_events::delivery {

void KeyScheduler::Add(uint64_t id, const std::string& key) {
  std::deque<uint64_t>& queue = queues_[key];
  queue.push_back(id);
  if (queue.size() == 1) {
    ready_.push_back(id);
  }
}

std::optional<uint64_t> KeyScheduler::PopReady() {
  if (ready_.empty()) {
    return std::nullopt;
  }
  uint64_t id = ready_.front();
  ready_.pop_front();
  return id;
}

void KeyScheduler::Finish(uint64_t id, const std::string& key) {
  auto it = queues_.find(key);
  if (it == queues_.end() || it->second.empty() || it->second.front() != id) {
    return;  // already dropped by a revoke
  }
  it->second.pop_front();
  if (it->second.empty()) {
    queues_.erase(it);
  } else {
    ready_.push_back(it->second.front());
  }
}

void KeyScheduler::DropKey(const std::string& key) {
  auto it = queues_.find(key);
  if (it == queues_.end()) {
    return;
  }
  uint64_t head = it->second.front();
  ready_.erase(std::remove(ready_.begin(), ready_.end(), head), ready_.end());
  queues_.erase(it);
}

}  // namespace anchor_events::delivery
