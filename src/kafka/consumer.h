// One lane's Kafka consumer (SPEC §6.1, §6.3): its own consumer group, manual offset commits,
// cooperative-sticky rebalancing, per-partition queues, and a file descriptor that becomes readable
// when there is something to poll, so the lane can wait on Kafka and HTTP at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "base/result.h"
#include "config/config.h"
#include "kafka/commit_tracker.h"
#include "ops/log.h"

namespace anchor_events::kafka {

// One record, copied out of librdkafka's buffers so they are not pinned while it waits.
struct Record {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // the record's timestamp, -1 when absent
  std::string key;
  std::string value;
  bool has_key = false;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Copies a fetched message (not an error) into a Record.
Record CopyRecord(const rd_kafka_message_t& message);

// Told about partition changes, from inside Consumer::Poll on the lane thread.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  virtual void OnAssigned(const std::vector<int32_t>& partitions) = 0;
  // Called before the partitions are given up: commit what is finished, drop the rest.
  virtual void OnRevoked(const std::vector<int32_t>& partitions, bool lost) = 0;
  // The broker's answer to a commit, per partition.
  virtual void OnCommitted(const PartitionOffset& /*offset*/, bool /*ok*/) {}
};

struct ConsumerOptions {
  config::KafkaConfig kafka;
  std::string group_id;
  std::string topic;
  config::StartOffset start_offset = config::StartOffset::kLatest;
  std::string group_instance_id;  // static membership when not empty
  // librdkafka's prefetch queue (queued.max.messages.kbytes; fetch.max.bytes follows it, at
  // least 1 MiB). Many lanes share one process, so the processor divides one budget among them.
  int prefetch_kbytes = 4096;
  // Each assigned partition's records stay in their own librdkafka queue and are taken with
  // Take() only when the caller has room, so a full caller never pauses: pausing makes
  // librdkafka discard its prefetch and fetch it again after resuming. Poll() then serves only
  // rebalances, commits and errors.
  bool partition_queues = false;
};

// Used by one lane thread; not thread-safe.
class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> Create(const ConsumerOptions& options,
                                                  RebalanceListener* listener);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Returns a record, or nothing when none is ready within timeout_ms. Serves rebalances
  // and errors. Transient broker errors are logged, not returned.
  std::optional<Record> Poll(int timeout_ms);

  // With partition_queues: the next record of an assigned partition, taken round-robin across
  // partitions, or nothing when none is queued. Records of one partition come in order.
  std::optional<Record> Take();

  // Readable when Poll or Take has work; the lane clears it with DrainWakeups().
  int wakeup_fd() const { return wakeup_read_fd_; }
  void DrainWakeups();
  // Makes wakeup_fd() readable; safe from any thread.
  void Wake();

  // With partition_queues: stops fetching `partition` and leaves it out of Take(), because
  // the lane takes its records from a shared fetch (kafka::Feed). Records of it fetched before
  // are dropped.
  Status Pause(int32_t partition);
  // Fetches `partition` again, from `next` on, and serves it in Take(). Records of it that
  // Take() returns may start below `next` (fetched before the pause): the caller skips them.
  Status ResumeAt(int32_t partition, int64_t next);
  // Fetches `partition` again from wherever its fetch stands. Harmless when not paused.
  void Resume(int32_t partition);

  // Commits asynchronously; failures are logged and retried by the next commit.
  void CommitAsync(const std::vector<PartitionOffset>& offsets);
  Status CommitSync(const std::vector<PartitionOffset>& offsets);

  // Records between `committable` and each partition's high watermark (cached, no broker call).
  // `high`, when given, supplies the watermark of partitions it knows better (-1: it does not).
  int64_t Lag(const std::vector<PartitionOffset>& committable,
              const std::function<int64_t(int32_t)>& high = nullptr) const;

  // The high watermark of each assigned partition, asked of the broker (blocks up to
  // timeout_ms per partition).
  Result<std::vector<PartitionOffset>> QueryEnds(int timeout_ms) const;
  // Where this group starts reading each assigned partition: its committed offset, or the low
  // watermark when it has none (asks the broker; blocks up to timeout_ms).
  Result<std::vector<PartitionOffset>> QueryStarts(int timeout_ms) const;
  // Where this group resumes each of `partitions`: its committed offset, or where a new group
  // starts (start_offset) when it has none (asks the broker; blocks up to timeout_ms).
  Result<std::vector<PartitionOffset>> QueryResumePoints(const std::vector<int32_t>& partitions,
                                                         int timeout_ms) const;
  // The next offset this consumer will read from each assigned partition (-1 when unknown).
  std::vector<PartitionOffset> Positions() const;

  const std::vector<int32_t>& assigned() const { return assigned_; }
  bool joined() const { return joined_; }
  // The last consume error (for example a topic that does not exist yet), cleared when a
  // record arrives. Never contains record data.
  const std::string& last_error() const { return last_error_; }
  // Leaves the group. Idempotent.
  void Close();

 private:
  Consumer() = default;
  static void RebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void CommitCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* offsets, void* opaque);
  void OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  std::optional<Record> ToRecord(rd_kafka_message_t* message);
  void OpenPartitionQueues(const rd_kafka_topic_partition_list_t* partitions);
  void ClosePartitionQueues(const std::vector<int32_t>& partitions);

  struct PartitionQueue {
    int32_t partition;
    rd_kafka_queue_t* queue;
    bool paused = false;  // read through the shared fetch
  };
  rd_kafka_topic_partition_list_t* AssignedList() const;
  // strict: a partition whose committed offset could not be read fails the call instead of
  // being read from the start.
  Result<std::vector<PartitionOffset>> CommittedOr(const std::vector<int32_t>& partitions,
                                                   bool latest, bool strict, int timeout_ms) const;

  rd_kafka_t* handle_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  RebalanceListener* listener_ = nullptr;
  std::string topic_;
  std::string group_id_;
  std::vector<int32_t> assigned_;
  bool partition_queues_ = false;
  config::StartOffset start_offset_ = config::StartOffset::kLatest;
  std::vector<PartitionQueue> partition_queues_open_;
  size_t next_queue_ = 0;  // where Take() starts its round
  bool joined_ = false;
  bool subscribed_ = false;
  bool closed_ = false;
  std::string last_error_;
  ops::RateLimiter error_limiter_{std::chrono::seconds(30)};
  int wakeup_read_fd_ = -1;
  int wakeup_write_fd_ = -1;
};

}  // namespace anchor_events::kafka
