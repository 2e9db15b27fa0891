// A delivery lane (SPEC §6): one destination with its own consumer group, consuming the topic,
// routing and sending events with per-key order and bounded parallelism, retrying failures and
// committing only offsets whose records are all finished. One thread per lane.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "delivery/circuit.h"
#include "delivery/destination.h"
#include "delivery/http_sender.h"
#include "delivery/key_scheduler.h"
#include "delivery/retry_policy.h"
#include "event/parse_cache.h"
#include "kafka/commit_tracker.h"
#include "kafka/consumer.h"
#include "kafka/dead_letter_writer.h"
#include "kafka/feed.h"
#include "ops/log.h"
#include "ops/metrics.h"

namespace anchor_events::delivery {

struct LaneSettings {
  std::string name;  // "callback-api" or the client's name; the metric label
  config::LaneOptions options;
  std::shared_ptr<const Destination> destination;
  std::shared_ptr<const AddressGuard> guard;  // null: no SSRF guard
  std::string ca_file;
  std::string client_cert_file;  // mTLS, with client_key_file
  std::string client_key_file;
  bool verify_tls = true;
  kafka::ConsumerOptions consumer;
  SenderOptions sender;
  CircuitOptions circuit;
  int64_t max_event_bytes = 1 << 20;
  // Where rejected and exhausted events go; null drops them (tests only).
  std::shared_ptr<kafka::DeadLetterWriter> dead_letters;
  // Shared by the lanes of a process so a record is parsed about once; null: each lane parses.
  std::shared_ptr<event::ParseCache> parse_cache;
  // The process's shared fetch of the topic: while this lane keeps up it reads its partitions
  // there instead of fetching them itself. Null: the lane always fetches on its own.
  std::shared_ptr<kafka::Feed> feed;
  // Poison is the same for every lane: exactly one lane writes it to the dead-letter topic.
  bool dead_letter_poison = false;
  // A client lane's event::AudienceTags: the shared fetch wakes it at once only for records
  // tagged with one of them (its other records it takes a little later, in a batch). Empty:
  // woken for every record.
  std::vector<uint64_t> audience;
};

// A consistent copy of a lane's state for /status and probes.
struct LaneStatus {
  std::string name;
  std::string group_id;
  bool running = false;
  bool joined = false;
  bool paused = false;             // the read-ahead window is full: no record is taken
  std::string circuit = "closed";  // closed, open or probing
  std::vector<int32_t> partitions;
  std::vector<int32_t> shared_partitions;  // read through the process's shared fetch
  int64_t in_flight = 0;
  int64_t pending = 0;
  int64_t window = 0;  // records read past the committable offsets
  int64_t waiting_retry = 0;
  int64_t dead_lettering = 0;
  int64_t lag = 0;
  int64_t delivered = 0;
  int64_t failed = 0;
  std::chrono::steady_clock::time_point last_tick;
  int64_t started_at_ms = 0;
  std::string last_error;  // the consumer's last error, e.g. a missing topic  // unix time the lane
                           // started; changes only when it is replaced
};

class Lane : private kafka::RebalanceListener, private kafka::Feed::Subscriber {
 public:
  Lane(LaneSettings settings, ops::Metrics* metrics, const Clock* clock);
  ~Lane() override;
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Creates the consumer and starts the lane thread.
  Status Start();
  // Asks the lane to stop fetching, finish in-flight attempts until `deadline`, commit and
  // leave its group. Returns at once; Join() waits.
  void Stop(std::chrono::steady_clock::time_point deadline);
  void Join();

  const std::string& name() const { return settings_.name; }
  const LaneSettings& settings() const { return settings_; }
  LaneStatus Snapshot() const;

 private:
  struct Item;
  struct DeadLetterAcks;

  void Run();
  void PollKafka();
  // Up to `max` records in a row from the next partition read through the feed that has any,
  // into shared_batch_. False when none has.
  bool TakeShared(size_t max);
  std::shared_ptr<const kafka::Record> TakeOwn();
  void FetchOnOwn(int32_t partition);
  void MaybeShare();
  bool Share(int32_t partition, int64_t next, bool rewind);
  void LeaveFeed();
  void WakeFromFeed() override;
  bool Selective() const override;
  bool WakesFor(uint64_t tag) const override;
  void HandleRecord(std::shared_ptr<const kafka::Record> record);
  void Dispatch();
  bool DispatchProbe();
  void StartAttempt(Item& item);
  void OnTransientFailure(Item& item, const HttpResponse& response, bool was_probe);
  void OnCircuitOpened(const HttpResponse& response);
  void OnCircuitClosed();
  void HandleCompleted();
  void HandleResponse(Item& item, const HttpResponse& response);
  void FinishItem(uint64_t id);
  void DeadLetter(Item& item, const std::string& reason);
  void HandleDeadLetterAcks();
  void MaybeCommit(bool force);
  size_t ReadAheadLimit() const;
  void UpdateWindowFull();
  void PublishStatus(bool force);
  std::chrono::milliseconds NextWait() const;
  void OnAssigned(const std::vector<int32_t>& partitions) override;
  void OnRevoked(const std::vector<int32_t>& partitions, bool lost) override;
  void OnCommitted(const kafka::PartitionOffset& offset, bool ok) override;

  LaneSettings settings_;
  ops::Metrics* metrics_;
  ops::LaneMetrics lane_metrics_;
  // Skipped-event counters by SkipReason, looked up on first use: most of a wallet lane's
  // records are skipped, and the lookup locks the metric family.
  std::array<prometheus::Counter*, 5> skipped_counters_{};
  // Attempt counters by HttpResponse::StatusClassIndex (the same, per attempt).
  std::array<prometheus::Counter*, HttpResponse::kStatusClasses> attempt_counters_{};
  const Clock* clock_;
  ops::Logger log_;
  Backoff backoff_;
  Circuit circuit_;
  bool probe_fresh_ = false;
  std::chrono::steady_clock::time_point circuit_opened_at_;
  std::unique_ptr<kafka::Consumer> consumer_;
  // Where the lane reads each assigned partition: `next` is the offset after the last record
  // it took (-1 before the first), `shared` whether it comes from settings_.feed.
  struct PartitionRead {
    int64_t next = -1;
    bool shared = false;
    bool resume_failed = false;  // to fetch on its own again, retried with MaybeShare
    std::chrono::steady_clock::time_point share_after;  // no rejoining before
    // After switching back from the feed: records below it were already taken (-1: none).
    int64_t skip_below = -1;
  };
  std::map<int32_t, PartitionRead> reads_;
  std::vector<int32_t> shared_;  // the partitions read through the feed, in Take order
  size_t next_shared_ = 0;
  std::vector<std::shared_ptr<const kafka::Record>> shared_batch_;
  std::chrono::steady_clock::time_point next_share_check_;
  std::unique_ptr<HttpSender> sender_;
  KeyScheduler scheduler_;
  kafka::CommitTracker tracker_;
  std::unordered_map<uint64_t, std::unique_ptr<Item>> items_;
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> retry_timers_;
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> dead_letter_retries_;
  std::shared_ptr<DeadLetterAcks> dead_letter_acks_;
  size_t dead_lettering_ = 0;
  uint64_t next_id_ = 1;
  size_t max_pending_;
  std::chrono::steady_clock::time_point next_commit_;
  bool commit_in_flight_ = false;  // an offset commit awaits the broker's answer
  bool window_full_ = false;       // no record is taken until commits make room
  std::chrono::steady_clock::time_point next_status_;
  std::chrono::steady_clock::time_point drain_deadline_;
  bool draining_ = false;

  std::atomic<bool> stop_requested_{false};
  std::atomic<int64_t> stop_deadline_ns_{0};
  ops::RateLimiter poison_log_limiter_{std::chrono::seconds(5)};
  ops::RateLimiter retry_log_limiter_{std::chrono::seconds(5)};
  ops::RateLimiter dead_letter_log_limiter_{std::chrono::seconds(5)};
  ops::RateLimiter redirect_log_limiter_{std::chrono::seconds(30)};
  ops::RateLimiter commit_log_limiter_{std::chrono::seconds(30)};
  std::thread thread_;
  mutable std::mutex status_mutex_;
  LaneStatus status_;
};

}  // namespace anchor_events::delivery
