#include "kafka/feed.h"

#include <algorithm>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "kafka/client_config.h"

namespace anchor_events::kafka {
namespace {

using std::chrono::steady_clock;

constexpr char kWake = 1;
constexpr int kIdleWaitMs = 100;

size_t RecordBytes(const Record& record) {
  size_t bytes = sizeof(Record) + record.key.size() + record.value.size();
  for (const auto& [name, value] : record.headers) {
    bytes += name.size() + value.size();
  }
  return bytes;
}

}  // namespace

Result<std::shared_ptr<Feed>> Feed::Create(const FeedOptions& options) {
  Result<ConfPtr> conf = BaseConf(options.kafka);
  if (!conf.ok()) {
    return conf.error();
  }
  // No group: the feed never commits. Each lane commits to its own group what it finished.
  // The prefetch bounds apply to each partition (the feed reads with per-partition queues).
  // An offset out of range is an error, never a jump: the lanes then fetch on their own and
  // their groups' reset policy applies.
  const int partition_kbytes = std::max(64, options.partition_prefetch_kbytes);
  const std::vector<std::pair<std::string, std::string>> properties = {
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", "error"},
      {"queued.max.messages.kbytes", std::to_string(partition_kbytes)},
      {"queued.min.messages", "10000"},
      {"max.partition.fetch.bytes", std::to_string(partition_kbytes * 1024)},
  };
  for (const auto& [name, value] : properties) {
    if (options.kafka.properties.count(name) != 0 && name == "queued.max.messages.kbytes") {
      continue;
    }
    if (Status status = SetProperty(conf->get(), name, value); !status.ok()) {
      return status.error();
    }
  }
  std::shared_ptr<Feed> feed(new Feed(options));
  feed->log_ = ops::Log().With({{"component", "feed"}, {"topic", options.topic}});
  char error[512];
  feed->handle_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf->release(), error, sizeof(error));
  if (feed->handle_ == nullptr) {
    return Error{std::string("creating the shared Kafka consumer failed: ") + error};
  }
  feed->topic_ = rd_kafka_topic_new(feed->handle_, options.topic.c_str(), nullptr);
  if (feed->topic_ == nullptr) {
    return Error{"opening topic " + options.topic + " for the shared consumer failed"};
  }
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Error{"creating the shared consumer's wakeup pipe failed"};
  }
  feed->wake_read_fd_ = fds[0];
  feed->wake_write_fd_ = fds[1];
  feed->thread_ = std::thread([raw = feed.get()] { raw->Run(); });
  return feed;
}

Feed::~Feed() {
  stop_.store(true);
  Kick();
  if (thread_.joinable()) {
    thread_.join();
  }
  for (auto& [partition, state] : partitions_) {
    if (state.queue != nullptr) {
      rd_kafka_queue_io_event_enable(state.queue, -1, nullptr, 0);
    }
    if (state.reading) {
      rd_kafka_consume_stop(topic_, partition);
    }
    if (state.queue != nullptr) {
      rd_kafka_queue_destroy(state.queue);
    }
  }
  if (topic_ != nullptr) {
    rd_kafka_topic_destroy(topic_);
  }
  if (handle_ != nullptr) {
    rd_kafka_destroy(handle_);
  }
  if (wake_read_fd_ >= 0) {
    close(wake_read_fd_);
    close(wake_write_fd_);
  }
}

void Feed::Kick() {
  if (wake_write_fd_ >= 0) {
    [[maybe_unused]] ssize_t written = write(wake_write_fd_, &kWake, 1);
  }
}

bool Feed::Attach(Subscriber* subscriber, int32_t partition, int64_t next, bool rewind) {
  if (next < 0) {
    return false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  Partition& state = partitions_[partition];
  for (const Cursor& cursor : state.cursors) {
    if (cursor.subscriber == subscriber) {
      return true;
    }
  }
  const int64_t begin = state.buffer.empty() ? state.end : state.buffer.front()->offset;
  if (state.cursors.empty() || (rewind && next < begin && begin - next <= options_.max_rewind)) {
    // Nobody reads it, or the lane may take the feed back: start over where this lane is.
    state.buffer.clear();
    state.bytes = 0;
    state.end = next;
    state.restart = true;
    ++state.epoch;
    state.waiting = false;
    state.cursors.push_back(NewCursor(subscriber, next));
    Kick();
    return true;
  }
  const auto max_records = static_cast<int64_t>(options_.max_records);
  if (next > state.end + max_records) {
    // Far ahead of what the feed reads. The feed follows the fastest lane, so it moves there:
    // the readers that would then be a whole buffer behind fetch on their own from where they
    // are, the others wait while it reads from the lowest of them.
    auto behind = [&](const Cursor& c) { return c.next + max_records < next; };
    for (const Cursor& cursor : state.cursors) {
      if (behind(cursor)) {
        cursor.subscriber->WakeFromFeed();
      }
    }
    state.cursors.erase(std::remove_if(state.cursors.begin(), state.cursors.end(), behind),
                        state.cursors.end());
    state.cursors.push_back(NewCursor(subscriber, next));
    state.buffer.clear();
    state.bytes = 0;
    state.end = Lowest(state);
    state.restart = true;
    ++state.epoch;
    state.waiting = false;
    Kick();
    return true;
  }
  // Behind what the feed holds: the lane is better off fetching on its own.
  if (next < begin) {
    return false;
  }
  state.cursors.push_back(NewCursor(subscriber, next));
  if (state.waiting) {
    state.waiting = false;
    Kick();  // it may lead now
  }
  return true;
}

void Feed::Detach(Subscriber* subscriber, int32_t partition) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) {
    return;
  }
  Partition& state = it->second;
  auto before = state.cursors.size();
  state.cursors.erase(std::remove_if(state.cursors.begin(), state.cursors.end(),
                                     [&](const Cursor& c) { return c.subscriber == subscriber; }),
                      state.cursors.end());
  if (state.cursors.size() != before) {
    Trim(state);
    Kick();  // room, or nobody left to read for
  }
}

Feed::TakeResult Feed::Take(Subscriber* subscriber, int32_t partition,
                            std::shared_ptr<const Record>* out) {
  std::vector<std::shared_ptr<const Record>> one;
  TakeResult result = Take(subscriber, partition, 1, &one);
  if (result == TakeResult::kRecord) {
    *out = std::move(one.front());
  }
  return result;
}

Feed::TakeResult Feed::Take(Subscriber* subscriber, int32_t partition, size_t max,
                            std::vector<std::shared_ptr<const Record>>* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) {
    return TakeResult::kDetached;
  }
  Partition& state = it->second;
  auto cursor = std::find_if(state.cursors.begin(), state.cursors.end(),
                             [&](const Cursor& c) { return c.subscriber == subscriber; });
  if (cursor == state.cursors.end()) {
    return TakeResult::kDetached;
  }
  auto record = std::lower_bound(
      state.buffer.begin(), state.buffer.end(), cursor->next,
      [](const std::shared_ptr<const Record>& r, int64_t offset) { return r->offset < offset; });
  if (max == 0) {
    return TakeResult::kEmpty;  // asked for nothing: what waits for it still does
  }
  if (record == state.buffer.end()) {
    cursor->woken = false;
    cursor->pending = false;
    return TakeResult::kEmpty;
  }
  const bool was_first = record == state.buffer.begin();
  // Offsets, not records: a lane's read-ahead window counts offsets, and a partition may have
  // gaps (transaction markers). The first record is always taken.
  const int64_t below = cursor->next + static_cast<int64_t>(max);
  for (bool first = true; record != state.buffer.end(); ++record, first = false) {
    if (!first && (*record)->offset >= below) {
      break;
    }
    out->push_back(*record);
  }
  cursor->next = out->back()->offset + 1;
  if (record == state.buffer.end()) {
    cursor->woken = false;  // it has everything buffered: the next Fill must wake it
    cursor->pending = false;
  }
  if (was_first) {
    Trim(state);
  }
  // The feed waits for the leading reader to come within half its read-ahead of the end.
  if (state.waiting && state.end - cursor->next <= ReadAhead() / 2) {
    state.waiting = false;
    Kick();
  }
  return TakeResult::kRecord;
}

void Feed::Trim(Partition& state) {
  if (state.cursors.empty()) {
    state.buffer.clear();
    state.bytes = 0;
    return;
  }
  const int64_t lowest = Lowest(state);
  while (!state.buffer.empty() && state.buffer.front()->offset < lowest) {
    state.bytes -= RecordBytes(*state.buffer.front());
    state.buffer.pop_front();
  }
  if (state.buffer.empty() && lowest > state.end + static_cast<int64_t>(options_.max_records)) {
    // Everyone left is far past what the feed reads next (the lane that was behind left):
    // start over where they are instead of reading records nobody needs.
    state.end = lowest;
    state.restart = true;
    ++state.epoch;
    Kick();
  }
}

int64_t Feed::Highest(const Partition& state) {
  int64_t highest = state.cursors.front().next;
  for (const Cursor& cursor : state.cursors) {
    highest = std::max(highest, cursor.next);
  }
  return highest;
}

int64_t Feed::ReadAhead() const {
  return std::clamp<int64_t>(static_cast<int64_t>(options_.max_records / 4), 1, 256);
}

int64_t Feed::Lowest(const Partition& state) {
  int64_t lowest = state.cursors.front().next;
  for (const Cursor& cursor : state.cursors) {
    lowest = std::min(lowest, cursor.next);
  }
  return lowest;
}

int64_t Feed::HighWatermark(int32_t partition) const {
  int64_t low = 0;
  int64_t high = -1;
  if (rd_kafka_get_watermark_offsets(handle_, options_.topic.c_str(), partition, &low, &high) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return -1;
  }
  return high;
}

size_t Feed::active_partitions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t count = 0;
  for (const auto& [partition, state] : partitions_) {
    count += state.cursors.empty() ? 0 : 1;
  }
  return count;
}

size_t Feed::cursors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t count = 0;
  for (const auto& [partition, state] : partitions_) {
    count += state.cursors.size();
  }
  return count;
}

void Feed::Run() {
  pthread_setname_np(pthread_self(), "kafka-feed");
  steady_clock::time_point next_lazy_check;
  while (!stop_.load()) {
    ApplyChanges();
    std::vector<std::pair<int32_t, Partition*>> reading;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [partition, state] : partitions_) {
        if (state.reading && !state.restart && !state.cursors.empty()) {
          reading.emplace_back(partition, &state);  // map nodes stay where they are
        }
      }
      reading_partitions_ = std::max<size_t>(1, reading.size());
    }
    bool more = false;
    for (auto& [partition, state] : reading) {
      more = Fill(partition, *state) || more;
    }
    rd_kafka_poll(handle_, 0);  // errors and logs
    int wait_ms = kIdleWaitMs;
    if (options_.tag) {
      // Selective readers' records not their own wait at most lazy_wake and a quarter more.
      const auto quarter =
          std::max<std::chrono::milliseconds>(options_.lazy_wake / 4, std::chrono::milliseconds(1));
      if (steady_clock::now() >= next_lazy_check) {
        WakeLazy();
        next_lazy_check = steady_clock::now() + quarter;
      }
      wait_ms = std::min<int>(wait_ms, static_cast<int>(quarter.count()));
    }
    // librdkafka (records arrived) and the lanes (room, attach, detach) wake it through the pipe.
    pollfd fd{wake_read_fd_, POLLIN, 0};
    poll(&fd, 1, more ? 0 : wait_ms);
    char buffer[64];
    while (read(wake_read_fd_, buffer, sizeof(buffer)) > 0) {
    }
  }
}

void Feed::ApplyChanges() {
  struct Change {
    int32_t partition;
    Partition* state;
    bool stop;
    int64_t start;  // -1: do not start
    uint64_t epoch;
  };
  std::vector<Change> changes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [partition, state] : partitions_) {
      if (state.restart) {
        changes.push_back({partition, &state, state.reading, state.end, state.epoch});
        state.restart = false;
      } else if (state.reading && state.cursors.empty()) {
        changes.push_back({partition, &state, true, -1, state.epoch});
      }
    }
  }
  // librdkafka calls outside the lock: lanes keep taking meanwhile. Only this thread changes
  // `reading` and `queue`.
  for (const Change& change : changes) {
    if (change.stop) {
      rd_kafka_queue_io_event_enable(change.state->queue, -1, nullptr, 0);
      rd_kafka_consume_stop(topic_, change.partition);
      rd_kafka_queue_destroy(change.state->queue);
      std::lock_guard<std::mutex> lock(mutex_);
      change.state->queue = nullptr;
      change.state->reading = false;
    }
    if (change.start < 0) {
      continue;
    }
    rd_kafka_queue_t* queue = nullptr;
    if (rd_kafka_consume_start(topic_, change.partition, change.start) == 0) {
      // The partition's own fetch queue, made by librdkafka: it wakes this thread's pipe.
      queue = rd_kafka_queue_get_partition(handle_, options_.topic.c_str(), change.partition);
      if (queue == nullptr) {
        rd_kafka_consume_stop(topic_, change.partition);
      }
    }
    if (queue == nullptr) {
      std::lock_guard<std::mutex> lock(mutex_);
      log_.Warn(
          "shared fetch could not start, its lanes fetch on their own",
          {{"partition", change.partition}, {"error", rd_kafka_err2str(rd_kafka_last_error())}});
      if (change.state->epoch == change.epoch) {
        for (const Cursor& cursor : change.state->cursors) {
          cursor.subscriber->WakeFromFeed();  // their next Take says kDetached
        }
        change.state->cursors.clear();
        Trim(*change.state);
      }
      continue;
    }
    rd_kafka_queue_io_event_enable(queue, wake_write_fd_, &kWake, 1);
    std::lock_guard<std::mutex> lock(mutex_);
    change.state->queue = queue;
    change.state->reading = true;
  }
}

bool Feed::Fill(int32_t partition, Partition& state) {
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state.restart || state.cursors.empty() || state.queue == nullptr) {
      return false;
    }
    epoch = state.epoch;
  }
  for (int taken = 0; taken < 256; ++taken) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (state.epoch != epoch) {
        return false;
      }
      // Room for the next record: the oldest goes, and a reader that still needed it has
      // fallen behind by a whole buffer. Its lane fetches on its own from there. (Also run while
      // waiting, so a smaller share of the byte budget takes effect at once.)
      const size_t bytes_cap = BytesCap();
      bool evicted_cursor = false;
      while (!state.buffer.empty() &&
             (state.buffer.size() >= options_.max_records || state.bytes >= bytes_cap)) {
        const int64_t oldest = state.buffer.front()->offset;
        state.bytes -= RecordBytes(*state.buffer.front());
        state.buffer.pop_front();
        auto behind = [oldest](const Cursor& c) { return c.next <= oldest; };
        for (const Cursor& cursor : state.cursors) {
          if (behind(cursor)) {
            cursor.subscriber->WakeFromFeed();
          }
        }
        const size_t before = state.cursors.size();
        state.cursors.erase(std::remove_if(state.cursors.begin(), state.cursors.end(), behind),
                            state.cursors.end());
        if (state.cursors.size() != before) {
          evicted_cursor = true;
          log_.Debug("reader fell behind, it fetches on its own",
                     {{"partition", partition},
                      {"detached", static_cast<int64_t>(before - state.cursors.size())}});
        }
      }
      if (evicted_cursor) {
        // What only the detached readers needed goes too, so the buffer is again every record
        // from its first to `end` (Attach relies on that). Trim may restart the partition.
        Trim(state);
        if (state.epoch != epoch || state.cursors.empty()) {
          return false;
        }
      }
      // Paced by the leading reader: never more than the read-ahead past it, so nobody waits
      // for a slower one.
      if (state.end - Highest(state) >= ReadAhead()) {
        state.waiting = true;
        return false;
      }
    }
    rd_kafka_message_t* message = rd_kafka_consume_queue(state.queue, 0);
    if (message == nullptr) {
      return false;
    }
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
        message, rd_kafka_message_destroy);
    if (message->err) {
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        continue;
      }
      const bool lost_position = message->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                                 message->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
      int64_t suppressed = 0;
      if (lost_position || error_limiter_.Allow(&suppressed)) {
        log_.Warn(lost_position ? "shared fetch lost its position, its lanes fetch on their own"
                                : "shared fetch error",
                  {{"partition", partition},
                   {"error", rd_kafka_message_errstr(message)},
                   {"suppressed", suppressed}});
      }
      if (lost_position) {
        // The offset the lanes asked for is gone from the log: never jump past it here. Each
        // lane's own consumer seeks there and its group's reset policy decides.
        std::lock_guard<std::mutex> lock(mutex_);
        if (state.epoch == epoch) {
          for (const Cursor& cursor : state.cursors) {
            cursor.subscriber->WakeFromFeed();
          }
          state.cursors.clear();
          Trim(state);
        }
        return false;
      }
      continue;
    }
    auto record = std::make_shared<const Record>(CopyRecord(*message));
    // Records are tagged only one by one, as they arrive live. When more are already fetched
    // (a backlog), readers are woken as before and take them in batches: the feed's thread
    // would otherwise parse every record alone while the lanes wait for it.
    const bool tagged_one_by_one = options_.tag && rd_kafka_queue_length(state.queue) == 0;
    std::unique_lock<std::mutex> lock(mutex_);
    if (state.epoch != epoch || record->offset < state.end) {
      continue;  // fetched before a restart, or already buffered
    }
    state.end = record->offset + 1;
    if (state.cursors.empty() || record->offset < Lowest(state)) {
      // Every cursor is past it, so past everything buffered too: the buffer stays every
      // record from its first to `end`.
      state.buffer.clear();
      state.bytes = 0;
      continue;
    }
    state.bytes += RecordBytes(*record);
    state.buffer.push_back(record);
    if (!tagged_one_by_one || !NeedsTag(state, *record)) {
      WakeFor(state, *record, kEveryone);
      continue;
    }
    // A selective reader sleeps: tag the record outside the lock first (it parses, and the lanes
    // woken next find that parse in the cache), then wake the readers it is for. Readers awake
    // meanwhile take it anyway.
    lock.unlock();
    const uint64_t tag = options_.tag(record);
    lock.lock();
    if (state.epoch == epoch) {
      WakeFor(state, *record, tag);
    }
  }
  return true;
}

size_t Feed::BytesCap() const {
  return std::max<size_t>(512u << 10,
                          options_.max_bytes / std::max<size_t>(1, reading_partitions_));
}

bool Feed::LazyDue(const Partition& state, const Cursor& cursor,
                   steady_clock::time_point now) const {
  // Never so late that the buffer could drop what the reader still needs.
  const int64_t records = std::max<int64_t>(
      1, std::min(options_.lazy_records, static_cast<int64_t>(options_.max_records / 2)));
  return state.end - cursor.next >= records || state.bytes >= BytesCap() / 2 ||
         (cursor.pending && now - cursor.pending_since >= options_.lazy_wake);
}

bool Feed::NeedsTag(const Partition& state, const Record& record) const {
  const auto now = steady_clock::now();
  return std::any_of(state.cursors.begin(), state.cursors.end(), [&](const Cursor& cursor) {
    return cursor.selective && !cursor.woken && cursor.next <= record.offset &&
           !LazyDue(state, cursor, now);
  });
}

void Feed::WakeFor(Partition& state, const Record& record, uint64_t tag) {
  const auto now = steady_clock::now();
  for (Cursor& cursor : state.cursors) {
    if (cursor.woken || cursor.next > record.offset) {
      continue;  // awake, or past it
    }
    if (!cursor.selective || tag == kEveryone || LazyDue(state, cursor, now) ||
        cursor.subscriber->WakesFor(tag)) {
      Wake(cursor);
    } else if (!cursor.pending) {
      cursor.pending = true;
      cursor.pending_since = now;
    }
  }
}

void Feed::Wake(Cursor& cursor) {
  cursor.woken = true;
  cursor.pending = false;
  cursor.subscriber->WakeFromFeed();
}

void Feed::WakeLazy() {
  const auto now = steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [partition, state] : partitions_) {
    for (Cursor& cursor : state.cursors) {
      if (cursor.pending && !cursor.woken && now - cursor.pending_since >= options_.lazy_wake) {
        Wake(cursor);
      }
    }
  }
}

}  // namespace anchor_events::kafka
