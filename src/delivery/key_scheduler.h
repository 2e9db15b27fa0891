// Per-key ordering (SPEC §6.2): items of one key are released one at a time, in the order they
// were added; items of different keys are released in arrival order, independently.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace anchor_events::delivery {

// Not thread-safe; owned by one lane thread.
class KeyScheduler {
 public:
  // Queues `id` behind earlier items of `key`.
  void Add(uint64_t id, const std::string& key);
  // The next item whose predecessors of the same key are all finished, in arrival order.
  std::optional<uint64_t> PopReady();
  // `id` (the head of `key`) is finished; the next item of that key becomes ready.
  void Finish(uint64_t id, const std::string& key);
  // Forgets every item of `key` (its partition was revoked).
  void DropKey(const std::string& key);

  size_t keys() const { return queues_.size(); }
  size_t ready() const { return ready_.size(); }

 private:
  std::unordered_map<std::string, std::deque<uint64_t>> queues_;
  std::deque<uint64_t> ready_;
};

}  // namespace anchor_events::delivery
