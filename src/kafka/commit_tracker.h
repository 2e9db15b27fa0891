// Which offsets are safe to commit (SPEC §6.3): per partition, the lowest record not yet
// finished. Records finish out of order; the committed offset only moves past a record once it
// and every record before it in the partition are finished.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace anchor_events::kafka {

struct PartitionOffset {
  int32_t partition;
  int64_t offset;  // the next offset to consume, as Kafka commits it

  bool operator==(const PartitionOffset&) const = default;
};

// Not thread-safe; owned by one lane thread.
class CommitTracker {
 public:
  // A record was read. Offsets of one partition must be added in increasing order.
  void Add(int32_t partition, int64_t offset);
  // The record is delivered, dead-lettered or deliberately skipped.
  void Finish(int32_t partition, int64_t offset);
  // Add and Finish at once, for a record finished as it is read (skipped): nothing is stored.
  void AddFinished(int32_t partition, int64_t offset);
  // Forgets a partition (revoked); its unfinished records will be read again by the new owner.
  void Drop(int32_t partition);

  // Offsets that moved since the last call (or whose commit failed), to be committed.
  std::vector<PartitionOffset> TakeCommittable();
  // The broker's answer to a commit: on success the partition's acknowledged offset moves up; on
  // failure the next TakeCommittable offers the offset again.
  void Acknowledge(int32_t partition, int64_t offset, bool ok);
  // The committable offset of every known partition, whether it moved or not.
  std::vector<PartitionOffset> AllCommittable() const;
  size_t unfinished() const { return unfinished_; }
  // Records read past the offsets the broker has acknowledged, finished or not: at most what a
  // crash, a revoke or a lost assignment makes the next owner read again.
  size_t window() const;
  size_t unfinished(int32_t partition) const;

 private:
  struct PartitionState {
    std::set<int64_t> unfinished;
    int64_t next_offset = -1;     // one past the highest offset read
    int64_t last_committed = -1;  // what TakeCommittable last returned
    int64_t acked = -1;           // the last offset the broker acknowledged (or read from)
  };
  static int64_t Committable(const PartitionState& state);

  std::map<int32_t, PartitionState> partitions_;
  size_t unfinished_ = 0;
};

}  // namespace anchor_events::kafka
