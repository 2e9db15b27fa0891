// Every lane reads every record of the topic (one consumer group per lane), and most of a wallet
// lane's records are only parsed to learn they belong to another client. The lanes of one
// process share the parse of a record through this cache: the first lane to read it parses it,
// the others reuse the result while it is recent. A result is reused only for the very same
// bytes, so a recreated topic or a reused offset can never hand a lane another record's event.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "event/event.h"

namespace anchor_events::event {

// Thread-safe. Results are immutable and shared; an Event's document is only ever read.
class ParseCache {
 public:
  // At most `capacity` records and about `max_bytes` of them (a record and its parsed document
  // count as four times its size) are kept, the oldest dropped first. Records larger
  // than kMaxCachedRecord, and records too large to parse, are parsed without being kept.
  // A large cache is split into shards by partition and offset, each with its own lock and its
  // share of both bounds (a hundred lanes ask for the same records at once); the oldest is then the
  // oldest of its shard.
  ParseCache(size_t capacity, size_t max_bytes);

  static constexpr size_t kMaxCachedRecord = 64 * 1024;

  // ParseEvent(value, max_bytes), or the result another caller got for the same partition,
  // offset, bytes and limit.
  std::shared_ptr<const ParseResult> Parse(int32_t partition, int64_t offset,
                                           std::string_view value, size_t max_bytes);
  // The same for bytes the caller shares: the cache keeps a reference instead of a copy, and
  // another caller holding the very same bytes is matched without comparing them.
  std::shared_ptr<const ParseResult> Parse(int32_t partition, int64_t offset,
                                           std::shared_ptr<const std::string> value,
                                           size_t max_bytes);

  // How many calls reused a result (for the benchmark's notes and tests).
  uint64_t hits() const;

 private:
  struct Entry {
    std::shared_ptr<const std::string> value;
    size_t max_bytes = 0;
    std::shared_ptr<const ParseResult> result;
    size_t cost = 0;  // bytes counted against the budget
  };
  using Key = std::pair<int32_t, int64_t>;
  struct KeyHash {
    size_t operator()(const Key& key) const {
      return std::hash<uint64_t>()(static_cast<uint64_t>(key.second) * 1021u +
                                   static_cast<uint32_t>(key.first));
    }
  };

  struct Shard {
    std::mutex mutex;
    size_t bytes = 0;
    std::unordered_map<Key, std::shared_ptr<const Entry>, KeyHash> entries;
    std::deque<Key> order;  // insertion order, for eviction
    std::atomic<uint64_t> hits{0};
  };
  static constexpr size_t kMaxShards = 16;
  static constexpr size_t kMinShardCapacity = 256;

  const size_t shard_count_;
  const size_t capacity_;   // per shard
  const size_t max_bytes_;  // per shard
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace anchor_events::event
