#include "event/parse_cache.h"

#include <utility>

namespace anchor_events::event {

ParseCache::ParseCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::shared_ptr<const ParseResult> ParseCache::Parse(int32_t partition, int64_t offset,
                                                     std::string_view value, size_t max_bytes) {
  const Key key{partition, offset};
  std::shared_ptr<const Entry> found;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      found = it->second;
    }
  }
  // Compared outside the lock: entries never change once stored.
  if (found && found->max_bytes == max_bytes && found->value == value) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++hits_;
    return found->result;
  }
  auto entry = std::make_shared<Entry>();
  entry->value.assign(value);
  entry->max_bytes = max_bytes;
  entry->result = std::make_shared<const ParseResult>(ParseEvent(value, max_bytes));
  std::shared_ptr<const ParseResult> result = entry->result;
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.insert_or_assign(key, std::move(entry)).second) {
    order_.push_back(key);
    while (order_.size() > capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }
  return result;
}

uint64_t ParseCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

}  // namespace anchor_events::event
