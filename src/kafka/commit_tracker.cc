#include "kafka/commit_tracker.h"

#include <algorithm>

namespace anchor_events::kafka {

void CommitTracker::Add(int32_t partition, int64_t offset) {
  PartitionState& state = partitions_[partition];
  if (state.acked < 0) {
    state.acked = offset;  // reading starts at the group's committed offset
  }
  if (state.unfinished.insert(offset).second) {
    ++unfinished_;
  }
  if (offset + 1 > state.next_offset) {
    state.next_offset = offset + 1;
  }
}

void CommitTracker::AddFinished(int32_t partition, int64_t offset) {
  PartitionState& state = partitions_[partition];
  if (state.acked < 0) {
    state.acked = offset;
  }
  if (offset + 1 > state.next_offset) {
    state.next_offset = offset + 1;
  }
}

void CommitTracker::Finish(int32_t partition, int64_t offset) {
  auto it = partitions_.find(partition);
  if (it != partitions_.end() && it->second.unfinished.erase(offset) > 0) {
    --unfinished_;
  }
}

void CommitTracker::Drop(int32_t partition) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) {
    return;
  }
  unfinished_ -= it->second.unfinished.size();
  partitions_.erase(it);
}

int64_t CommitTracker::Committable(const PartitionState& state) {
  return state.unfinished.empty() ? state.next_offset : *state.unfinished.begin();
}

std::vector<PartitionOffset> CommitTracker::TakeCommittable() {
  std::vector<PartitionOffset> out;
  for (auto& [partition, state] : partitions_) {
    int64_t offset = Committable(state);
    if (offset > state.last_committed) {
      state.last_committed = offset;
      out.push_back({partition, offset});
    }
  }
  return out;
}

std::vector<PartitionOffset> CommitTracker::AllCommittable() const {
  std::vector<PartitionOffset> out;
  for (const auto& [partition, state] : partitions_) {
    if (state.next_offset >= 0) {
      out.push_back({partition, Committable(state)});
    }
  }
  return out;
}

void CommitTracker::Acknowledge(int32_t partition, int64_t offset, bool ok) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) {
    return;
  }
  PartitionState& state = it->second;
  if (ok) {
    state.acked = std::max(state.acked, offset);
  } else if (offset > state.acked) {
    state.last_committed = state.acked;
  }
}

size_t CommitTracker::window() const {
  size_t total = 0;
  for (const auto& [partition, state] : partitions_) {
    if (state.next_offset >= 0) {
      total += static_cast<size_t>(state.next_offset - std::max<int64_t>(state.acked, 0));
    }
  }
  return total;
}

size_t CommitTracker::unfinished(int32_t partition) const {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? 0 : it->second.unfinished.size();
}

}  // namespace anchor_events::kafka
