#include "event/parse_cache.h"

#include <utility>

namespace anchor_events::event {

ParseCache::ParseCache(size_t capacity, size_t max_bytes)
    : capacity_(capacity == 0 ? 1 : capacity), max_bytes_(max_bytes) {}

std::shared_ptr<const ParseResult> ParseCache::Parse(int32_t partition, int64_t offset,
                                                     std::string_view value, size_t max_bytes) {
  return Parse(partition, offset, std::make_shared<const std::string>(value), max_bytes);
}

std::shared_ptr<const ParseResult> ParseCache::Parse(int32_t partition, int64_t offset,
                                                     std::shared_ptr<const std::string> shared,
                                                     size_t max_bytes) {
  const std::string& value = *shared;
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
  if (found && found->max_bytes == max_bytes &&
      (found->value == shared || *found->value == value)) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return found->result;
  }
  auto result = std::make_shared<const ParseResult>(ParseEvent(value, max_bytes));
  const size_t cost = 4 * value.size() + 256;
  if (value.size() > kMaxCachedRecord || cost > max_bytes_) {
    return result;
  }
  auto entry = std::make_shared<Entry>();
  entry->value = std::move(shared);
  entry->max_bytes = max_bytes;
  entry->result = result;
  entry->cost = cost;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= it->second->cost;
    it->second = std::move(entry);  // other bytes at a known offset: the key keeps its place
  } else {
    entries_.emplace(key, std::move(entry));
    order_.push_back(key);
  }
  bytes_ += cost;
  while (!order_.empty() && (order_.size() > capacity_ || bytes_ > max_bytes_)) {
    auto oldest = entries_.find(order_.front());
    if (oldest != entries_.end()) {
      bytes_ -= oldest->second->cost;
      entries_.erase(oldest);
    }
    order_.pop_front();
  }
  return result;
}

uint64_t ParseCache::hits() const { return hits_.load(std::memory_order_relaxed); }

}  // namespace anchor_events::event
