#include "event/parse_cache.h"

#include <algorithm>
#include <utility>

namespace anchor_events::event {

ParseCache::ParseCache(size_t capacity, size_t max_bytes)
    : shard_count_(std::clamp<size_t>(capacity / kMinShardCapacity, 1, kMaxShards)),
      capacity_(std::max<size_t>(capacity / shard_count_, 1)),
      max_bytes_(max_bytes / shard_count_),
      shards_(std::make_unique<Shard[]>(shard_count_)) {}

std::shared_ptr<const ParseResult> ParseCache::Parse(int32_t partition, int64_t offset,
                                                     std::string_view value, size_t max_bytes) {
  return Parse(partition, offset, std::make_shared<const std::string>(value), max_bytes);
}

std::shared_ptr<const ParseResult> ParseCache::Parse(int32_t partition, int64_t offset,
                                                     std::shared_ptr<const std::string> shared,
                                                     size_t max_bytes) {
  const std::string& value = *shared;
  const Key key{partition, offset};
  // Mixed first: offsets with a stride (transaction markers take every other one) must still
  // spread over every shard.
  const uint64_t mixed = static_cast<uint64_t>(KeyHash()(key)) * 0x9E3779B97F4A7C15ull;
  Shard& shard = shards_[(mixed >> 32) % shard_count_];
  std::shared_ptr<const Entry> found;
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
      found = it->second;
    }
  }
  // Compared outside the lock: entries never change once stored.
  if (found && found->max_bytes == max_bytes &&
      (found->value == shared || *found->value == value)) {
    shard.hits.fetch_add(1, std::memory_order_relaxed);
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
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) {
    shard.bytes -= it->second->cost;
    it->second = std::move(entry);  // other bytes at a known offset: the key keeps its place
  } else {
    shard.entries.emplace(key, std::move(entry));
    shard.order.push_back(key);
  }
  shard.bytes += cost;
  while (!shard.order.empty() && (shard.order.size() > capacity_ || shard.bytes > max_bytes_)) {
    auto oldest = shard.entries.find(shard.order.front());
    if (oldest != shard.entries.end()) {
      shard.bytes -= oldest->second->cost;
      shard.entries.erase(oldest);
    }
    shard.order.pop_front();
  }
  return result;
}

uint64_t ParseCache::hits() const {
  uint64_t hits = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    hits += shards_[i].hits.load(std::memory_order_relaxed);
  }
  return hits;
}

}  // namespace anchor_events::event
