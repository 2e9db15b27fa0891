// One fetch of the topic shared by the lanes that keep up (SPEC §6.1, docs/benchmarks.md).
//
// Every lane still owns its consumer group: its partitions, its commits and, whenever it is
// behind, its own fetching. A lane that has caught up attaches a partition here instead, at the
// next offset it needs; it pauses its own fetch of that partition and takes the feed's copy of
// each record. The feed keeps each partition's records in order in one bounded buffer that
// every attached lane reads with its own cursor, so a record is fetched, copied and held once
// for all of them.
//
// The feed reads a partition a little ahead of its leading cursor (at most 256 records), so
// no lane ever waits for a slower one. The buffer keeps the most recent records; a cursor that
// falls a whole buffer behind the newest record it needs is detached: its lane goes back to
// fetching that partition on its own from where it was, and rejoins once caught up. A lane that
// falls behind loses nothing and holds nobody back. An offset out of range detaches every cursor
// of the partition: the feed never skips ahead on its own.
//
// A lane that has caught up sleeps until the feed wakes it. A lane that wants only some records
// (a wallet's: its own client's) is woken at once only for those, as the feed's tag function
// names them; it takes the others with the next record it is woken for, after at most
// `lazy_records` of them or `lazy_wake`, so its commits keep up. With many clients a live record
// then wakes two lanes, not every lane. A backlog (records fetched together) wakes every lane
// as before: they take it in batches, and the feed's thread does not parse it alone.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "base/result.h"
#include "config/config.h"
#include "kafka/consumer.h"
#include "ops/log.h"

namespace anchor_events::kafka {

struct FeedOptions {
  config::KafkaConfig kafka;
  std::string topic;
  int partition_prefetch_kbytes = 1024;  // librdkafka's prefetch, per partition read
  // The buffer of each partition: the records fetched that an attached cursor may still need.
  // How far a lane may fall behind the leading one before it fetches on its own.
  size_t max_records = 4096;
  // The bytes of all partitions' buffers together, shared by the partitions being read (each
  // gets at least 512 KiB).
  size_t max_bytes = 16u << 20;
  // How far back a lane joining a partition may take the feed (see Attach).
  int64_t max_rewind = 4096;
  // Names who a record is for (see Subscriber::WakesFor). Called on the feed's thread at most
  // once per record, and only for a record fetched alone while a selective reader sleeps.
  // Unset: every reader is woken for every record.
  std::function<uint64_t(const std::shared_ptr<const Record>&)> tag;
  // A selective reader is woken for records not its own at the latest once this many offsets
  // (at most half of max_records) or half the partition's byte budget wait for it, or once the
  // oldest has waited lazy_wake (checked every quarter of it).
  int64_t lazy_records = 64;
  std::chrono::milliseconds lazy_wake{200};
};

class Feed {
 public:
  // A lane, as the feed sees it. WakeFromFeed() is called under the feed's lock (on the feed's
  // thread, or in Attach): it must only signal (write to a pipe), never call back into the feed.
  class Subscriber {
   public:
    virtual ~Subscriber() = default;
    virtual void WakeFromFeed() = 0;
    // Whether the subscriber wants only some records woken for at once (asked when it attaches),
    // and whether a record tagged `tag` is one of them. Called under the feed's lock: both must
    // be quick and read only what never changes.
    virtual bool Selective() const { return false; }
    virtual bool WakesFor(uint64_t /*tag*/) const { return true; }
  };

  // The tag of a record every reader is woken for (e.g. one that cannot be parsed).
  static constexpr uint64_t kEveryone = 0;

  enum class TakeResult { kRecord, kEmpty, kDetached };

  static Result<std::shared_ptr<Feed>> Create(const FeedOptions& options);
  ~Feed();
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Serves `partition` to `subscriber` from offset `next` on. False when the feed no longer
  // holds that offset (others read past it): the lane keeps fetching on its own. With `rewind`
  // (a lane just given the partition), the feed goes back for it up to max_rewind records; the
  // others wait while it reads those again.
  bool Attach(Subscriber* subscriber, int32_t partition, int64_t next, bool rewind = false);
  // Idempotent. After it returns the feed never wakes `subscriber` for `partition` again.
  void Detach(Subscriber* subscriber, int32_t partition);
  // The next record of `partition` at or after the subscriber's cursor. kDetached: the
  // subscriber is not (or no longer) attached to it and must fetch it on its own from the offset
  // after the last record it took.
  TakeResult Take(Subscriber* subscriber, int32_t partition, std::shared_ptr<const Record>* out);
  // The same for the records in a row below the cursor plus `max` (at least one, so never
  // more than `max` records or offsets), appended to `out`: one lock for all of them.
  TakeResult Take(Subscriber* subscriber, int32_t partition, size_t max,
                  std::vector<std::shared_ptr<const Record>>* out);
  // The partition's high watermark as last fetched, -1 when unknown.
  int64_t HighWatermark(int32_t partition) const;

  // For tests: partitions being read, and attached cursors over all partitions.
  size_t active_partitions() const;
  size_t cursors() const;

 private:
  struct Cursor {
    Subscriber* subscriber;
    int64_t next;
    bool woken;  // woken since it last found nothing; cleared when a Take finds nothing or takes
                 // the rest
    bool selective;
    bool pending = false;  // records wait that it was not woken for (selective only)
    std::chrono::steady_clock::time_point pending_since;
  };
  static Cursor NewCursor(Subscriber* subscriber, int64_t next) {
    return {subscriber, next, false, subscriber->Selective(), false, {}};
  }
  struct Partition {
    std::deque<std::shared_ptr<const Record>> buffer;  // increasing offsets
    size_t bytes = 0;
    std::vector<Cursor> cursors;
    int64_t end = -1;      // the offset after the last record buffered (or where reading starts)
    uint64_t epoch = 0;    // bumped when reading restarts, so records fetched before are dropped
    bool restart = false;  // the thread must (re)start fetching at `end`
    bool reading = false;  // librdkafka fetches it (only the thread changes it)
    bool waiting = false;  // read ahead enough: the thread waits for the leading cursor
    rd_kafka_queue_t* queue = nullptr;  // only the thread touches it
  };

  explicit Feed(const FeedOptions& options) : options_(options) {}
  void Run();
  void ApplyChanges();
  bool Fill(int32_t partition, Partition& state);
  // Under the lock: wakes the sleeping readers that still need `record` and want it (every
  // reader when `tag` is kEveryone) or are due a lazy wake; marks the others pending.
  void WakeFor(Partition& state, const Record& record, uint64_t tag);
  // Under the lock: whether a selective reader sleeps that `record`'s tag would decide for.
  bool NeedsTag(const Partition& state, const Record& record) const;
  // Under the lock: whether a selective reader must be woken whatever the record's tag (enough
  // records or bytes wait for it, or the oldest has waited lazy_wake).
  bool LazyDue(const Partition& state, const Cursor& cursor,
               std::chrono::steady_clock::time_point now) const;
  // Under the lock: the bytes one partition's buffer may hold.
  size_t BytesCap() const;
  // Wakes selective readers whose oldest pending record waited lazy_wake.
  void WakeLazy();
  // Under the lock: wakes one reader (nothing is pending for it any more).
  static void Wake(Cursor& cursor);
  void Trim(Partition& state);
  // The lowest and highest cursor; cursors not empty.
  static int64_t Lowest(const Partition& state);
  static int64_t Highest(const Partition& state);
  int64_t ReadAhead() const;
  void Kick();

  FeedOptions options_;
  ops::Logger log_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
  int wake_read_fd_ = -1;
  int wake_write_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<int32_t, Partition> partitions_;
  size_t reading_partitions_ = 1;  // under mutex_: how many share max_bytes
  ops::RateLimiter error_limiter_{std::chrono::seconds(30)};
};

}  // namespace anchor_events::kafka
