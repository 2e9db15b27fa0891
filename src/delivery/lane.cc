#include "delivery/lane.h"

#include <algorithm>
#include <utility>

#include <pthread.h>

#include "delivery/lane_item.h"
#include "event/event.h"

namespace anchor_events::delivery {
namespace {

using std::chrono::steady_clock;

constexpr std::chrono::seconds kRejoinDelay{5};
// Records taken in a row from the feed (one trip through its lock) or from the own consumer.
constexpr size_t kTakeBatch = 64;

// The scheduler key: events of one object are ordered within a partition only.
std::string ItemKey(int32_t partition, const std::string& key) {
  return std::to_string(partition) + "/" + key;
}

}  // namespace

Lane::Lane(LaneSettings settings, ops::Metrics* metrics, const Clock* clock)
    : settings_(std::move(settings)),
      metrics_(metrics),
      lane_metrics_(metrics->ForLane(settings_.name)),
      clock_(clock),
      log_(ops::Log().With({{"lane", settings_.name}, {"topic", settings_.consumer.topic}})),
      backoff_(settings_.options.retry),
      circuit_(settings_.circuit),
      dead_letter_acks_(std::make_shared<DeadLetterAcks>()),
      max_pending_(static_cast<size_t>(std::max(256, settings_.options.max_in_flight * 16))) {
  status_.name = settings_.name;
  status_.group_id = settings_.consumer.group_id;
  status_.last_tick = clock_->Now();
}

Lane::~Lane() {
  Stop(clock_->Now());
  Join();
}

Status Lane::Start() {
  // Records are taken only while the read-ahead window has room (PollKafka).
  settings_.consumer.partition_queues = true;
  Result<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(settings_.consumer, this);
  if (!consumer.ok()) {
    return consumer.error();
  }
  consumer_ = std::move(consumer).value();
  sender_ = std::make_unique<HttpSender>(settings_.sender);
  {
    std::lock_guard<std::mutex> lock(dead_letter_acks_->mutex);
    dead_letter_acks_->wake = sender_.get();
  }
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    status_.running = true;
    status_.last_tick = clock_->Now();
    status_.started_at_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_->WallNow().time_since_epoch())
            .count();
  }
  thread_ = std::thread([this] { Run(); });
  log_.Info("lane started", {{"group", settings_.consumer.group_id}});
  return {};
}

void Lane::Stop(steady_clock::time_point deadline) {
  stop_deadline_ns_.store(deadline.time_since_epoch().count());
  stop_requested_.store(true);
  if (sender_) {
    sender_->Wakeup();
  }
}

void Lane::Join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

LaneStatus Lane::Snapshot() const {
  std::lock_guard<std::mutex> lock(status_mutex_);
  return status_;
}

void Lane::Run() {
  // "lane:" and the lane's name, cut to the kernel's 15 bytes: `top -H` then shows each lane.
  pthread_setname_np(pthread_self(), ("lane:" + settings_.name).substr(0, 15).c_str());
  while (true) {
    if (stop_requested_.load() && !draining_) {
      draining_ = true;
      LeaveFeed();  // it takes no more records: it must not hold the others back
      drain_deadline_ = steady_clock::time_point(steady_clock::duration(stop_deadline_ns_.load()));
      log_.Info("lane draining", {{"in_flight", static_cast<int64_t>(sender_->in_flight())}});
    }
    // While draining, records already read are still sent (within the grace period): every
    // one finished now is one the next owner of the partition does not send again.
    bool idle = sender_->in_flight() == 0 && dead_lettering_ == 0 &&
                (scheduler_.ready() == 0 || circuit_.open());
    if (draining_ && (idle || clock_->Now() >= drain_deadline_)) {
      break;
    }
    if (!draining_) {
      PollKafka();
    }
    Dispatch();
    sender_->Wait(NextWait(), draining_ ? -1 : consumer_->wakeup_fd());
    consumer_->DrainWakeups();
    HandleCompleted();
    HandleDeadLetterAcks();
    MaybeCommit(false);
    UpdateWindowFull();
    PublishStatus(false);
  }
  LeaveFeed();
  MaybeCommit(true);
  PublishStatus(true);
  if (Status status = consumer_->CommitSync(tracker_.AllCommittable()); !status.ok()) {
    log_.Warn("final commit failed", {{"error", status.error().message}});
  }
  consumer_->Close();
  {
    std::lock_guard<std::mutex> lock(dead_letter_acks_->mutex);
    dead_letter_acks_->wake = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    status_.running = false;
  }
  log_.Info("lane stopped", {{"unfinished", static_cast<int64_t>(tracker_.unfinished())}});
}

void Lane::PollKafka() {
  // Rebalances, commit answers and errors. Records come this way only for a partition whose
  // own queue could not be opened.
  while (std::optional<kafka::Record> record = consumer_->Poll(0)) {
    HandleRecord(std::make_shared<const kafka::Record>(std::move(*record)));
  }
  // The window (records read past the acknowledged offsets) is what a crash would deliver
  // again, so it is a hard bound: records are taken only while it has room. What is not taken
  // stays in librdkafka's bounded per-partition prefetch (or in the shared fetch), which stops
  // fetching when full. The lane's own partitions are never paused for this: librdkafka
  // discards a paused partition's prefetch and fetches it again after resuming, which capped a
  // busy lane at about one window per second.
  const size_t limit = ReadAheadLimit();
  bool progress = true;
  while (progress && tracker_.window() < limit) {
    progress = false;
    // In batches: one trip through the feed's lock for many records, not one per record. The
    // window counts offsets, and so does the batch's bound.
    if (TakeShared(std::min<size_t>(limit - tracker_.window(), kTakeBatch))) {
      for (std::shared_ptr<const kafka::Record>& record : shared_batch_) {
        HandleRecord(std::move(record));
      }
      shared_batch_.clear();
      progress = true;
    }
    // As many from the partitions the lane fetches itself, so neither source starves the other.
    for (size_t taken = 0; taken < kTakeBatch && tracker_.window() < limit; ++taken) {
      std::shared_ptr<const kafka::Record> record = TakeOwn();
      if (!record) {
        break;
      }
      HandleRecord(std::move(record));
      progress = true;
    }
  }
  UpdateWindowFull();
  MaybeShare();
}

bool Lane::TakeShared(size_t max) {
  for (size_t tried = 0; tried < shared_.size();) {
    next_shared_ %= shared_.size();
    const int32_t partition = shared_[next_shared_];
    switch (settings_.feed->Take(this, partition, max, &shared_batch_)) {
      case kafka::Feed::TakeResult::kRecord:
        next_shared_ = (next_shared_ + 1) % shared_.size();
        return true;
      case kafka::Feed::TakeResult::kEmpty:
        ++next_shared_;
        ++tried;
        break;
      case kafka::Feed::TakeResult::kDetached:
        FetchOnOwn(partition);  // removes it from shared_
        tried = 0;
        break;
    }
  }
  return false;
}

std::shared_ptr<const kafka::Record> Lane::TakeOwn() {
  while (std::optional<kafka::Record> record = consumer_->Take()) {
    PartitionRead& read = reads_[record->partition];
    if (read.skip_below >= 0) {
      if (record->offset < read.skip_below) {
        continue;  // fetched before the lane read this partition through the feed
      }
      read.skip_below = -1;  // from here on the consumer's order stands, whatever the offsets
    }
    return std::make_shared<const kafka::Record>(std::move(*record));
  }
  return nullptr;
}

void Lane::FetchOnOwn(int32_t partition) {
  settings_.feed->Detach(this, partition);
  shared_.erase(std::remove(shared_.begin(), shared_.end(), partition), shared_.end());
  PartitionRead& read = reads_[partition];
  read.shared = false;
  // Not straight back: a lane that fell behind once would otherwise rejoin in the next lull and
  // hold the others again at the next burst.
  read.share_after = clock_->Now() + kRejoinDelay;
  read.skip_below = read.next;
  if (Status status = consumer_->ResumeAt(partition, read.next); !status.ok()) {
    read.resume_failed = true;
    log_.Warn("fetching a partition again failed, will retry",
              {{"partition", partition}, {"error", status.error().message}});
    return;
  }
  read.resume_failed = false;
  log_.Debug("reading a partition on its own", {{"partition", partition}, {"offset", read.next}});
}

void Lane::MaybeShare() {
  if (!settings_.feed) {
    return;
  }
  steady_clock::time_point now = clock_->Now();
  if (now < next_share_check_) {
    return;
  }
  next_share_check_ = now + std::chrono::milliseconds(50);
  for (int32_t partition : consumer_->assigned()) {
    PartitionRead& read = reads_[partition];
    if (read.resume_failed) {
      FetchOnOwn(partition);
      continue;
    }
    // Only a lane that keeps up rejoins: one still behind would fall off the feed's buffer
    // again and pay a pause and a seek each time.
    if (read.shared || read.next < 0 || window_full_ || circuit_.open() || now < read.share_after) {
      continue;
    }
    Share(partition, read.next, /*rewind=*/false);
  }
}

bool Lane::Share(int32_t partition, int64_t next, bool rewind) {
  if (!settings_.feed->Attach(this, partition, next, rewind)) {
    return false;
  }
  if (Status status = consumer_->Pause(partition); !status.ok()) {
    settings_.feed->Detach(this, partition);
    return false;
  }
  PartitionRead& read = reads_[partition];
  read.next = next;
  read.shared = true;
  shared_.push_back(partition);
  log_.Debug("reading a partition through the shared fetch",
             {{"partition", partition}, {"offset", next}});
  return true;
}

void Lane::LeaveFeed() {
  if (!settings_.feed) {
    return;
  }
  for (int32_t partition : shared_) {
    settings_.feed->Detach(this, partition);
    reads_[partition].shared = false;
  }
  shared_.clear();
}

void Lane::WakeFromFeed() { consumer_->Wake(); }

bool Lane::Selective() const { return !settings_.audience.empty(); }

bool Lane::WakesFor(uint64_t tag) const {
  return std::find(settings_.audience.begin(), settings_.audience.end(), tag) !=
         settings_.audience.end();
}

void Lane::HandleRecord(std::shared_ptr<const kafka::Record> shared) {
  const kafka::Record& record = *shared;
  lane_metrics_.consumed->Increment();
  reads_[record.partition].next = record.offset + 1;
  // Every way out below tells the tracker about the record: Add for one still to finish,
  // AddFinished for one finished here (most of a wallet lane's records are someone else's).
  const size_t max_bytes = static_cast<size_t>(settings_.max_event_bytes);
  std::shared_ptr<const event::ParseResult> parsed =
      settings_.parse_cache
          ? settings_.parse_cache->Parse(record.partition, record.offset,
                                         std::shared_ptr<const std::string>(shared, &record.value),
                                         max_bytes)
          : std::make_shared<const event::ParseResult>(event::ParseEvent(record.value, max_bytes));
  if (const auto* poison = std::get_if<event::Poison>(parsed.get())) {
    std::string reason(event::PoisonReasonLabel(poison->reason));
    metrics_->CountPoison(settings_.name, reason);
    int64_t suppressed = 0;
    if (poison_log_limiter_.Allow(&suppressed)) {
      log_.Warn("poison record skipped", {{"partition", record.partition},
                                          {"offset", record.offset},
                                          {"reason", reason},
                                          {"error", poison->detail},
                                          {"suppressed", suppressed}});
    }
    if (settings_.dead_letter_poison && settings_.dead_letters) {
      tracker_.Add(record.partition, record.offset);
      auto item = std::make_unique<Item>();
      item->id = next_id_++;
      item->record = std::move(shared);
      item->event_id = poison->event_id;
      item->last_error = poison->detail;
      Item& ref = *item;
      items_.emplace(item->id, std::move(item));
      DeadLetter(ref, reason);
    } else {
      tracker_.AddFinished(record.partition, record.offset);
    }
    return;
  }
  const event::Event& event = std::get<event::Event>(*parsed);
  auto prepared = settings_.destination->Prepare(event, clock_->WallNow());
  if (const auto* skip = std::get_if<event::SkipReason>(&prepared)) {
    prometheus::Counter*& skipped = skipped_counters_.at(static_cast<size_t>(*skip));
    if (skipped == nullptr) {
      skipped = &metrics_->Skipped(settings_.name, std::string(event::SkipReasonLabel(*skip)));
    }
    skipped->Increment();
    if (log_.Enabled(ops::LogLevel::kDebug)) {
      log_.Debug("event skipped", {{"partition", record.partition},
                                   {"offset", record.offset},
                                   {"event_id", event.id},
                                   {"reason", event::SkipReasonLabel(*skip)}});
    }
    tracker_.AddFinished(record.partition, record.offset);
    return;
  }
  tracker_.Add(record.partition, record.offset);
  auto item = std::make_unique<Item>();
  item->id = next_id_++;
  item->key = ItemKey(record.partition, event.key);
  item->event_id = event.id;
  item->record = std::move(shared);
  item->prepared = std::make_shared<const Prepared>(std::move(std::get<Prepared>(prepared)));
  scheduler_.Add(item->id, item->key);
  items_.emplace(item->id, std::move(item));
}

void Lane::Dispatch() {
  const size_t limit = static_cast<size_t>(settings_.options.max_in_flight);
  steady_clock::time_point now = clock_->Now();
  if (circuit_.open()) {
    if (sender_->in_flight() < limit && circuit_.TryStartProbe(now) && !DispatchProbe()) {
      circuit_.Reset();  // nothing left to test with; the next failures open it again
      OnCircuitClosed();
    }
    return;
  }
  while (sender_->in_flight() < limit) {
    uint64_t id = 0;
    if (!retry_timers_.empty() && retry_timers_.begin()->first <= now) {
      id = retry_timers_.begin()->second;
      retry_timers_.erase(retry_timers_.begin());
    } else if (std::optional<uint64_t> ready = scheduler_.PopReady()) {
      id = *ready;
    } else {
      break;
    }
    auto it = items_.find(id);
    if (it != items_.end()) {
      StartAttempt(*it->second);
    }
  }
}

bool Lane::DispatchProbe() {
  // Probes alternate between events that already failed and fresh ones, so an event that
  // always fails cannot be mistaken for an outage forever.
  probe_fresh_ = !probe_fresh_;
  std::optional<uint64_t> id;
  if (probe_fresh_ || retry_timers_.empty()) {
    id = scheduler_.PopReady();
  }
  if (!id && !retry_timers_.empty()) {
    id = retry_timers_.begin()->second;
    retry_timers_.erase(retry_timers_.begin());
  }
  if (!id) {
    return false;
  }
  auto it = items_.find(*id);
  if (it == items_.end()) {
    return false;
  }
  it->second->probe = true;
  StartAttempt(*it->second);
  return true;
}

void Lane::StartAttempt(Item& item) {
  ++item.attempts;
  if (item.attempts == 1) {
    item.first_attempt_started = clock_->Now();
  }
  item.last_attempt = clock_->WallNow();
  if (item.attempts == 1) {
    item.first_attempt = item.last_attempt;
  }
  item.in_flight = true;
  HttpRequest request;
  request.url = item.prepared->url;
  request.headers = settings_.destination->AttemptHeaders(*item.prepared, clock_->WallNow());
  request.body = std::shared_ptr<const std::string>(item.prepared, &item.prepared->body);
  request.timeout = settings_.options.request_timeout;
  request.guard = settings_.guard;
  request.ca_file = settings_.ca_file;
  request.client_cert_file = settings_.client_cert_file;
  request.client_key_file = settings_.client_key_file;
  request.verify_tls = settings_.verify_tls;
  sender_->Start(item.id, std::move(request));
  lane_metrics_.in_flight->Set(static_cast<double>(sender_->in_flight()));
}

}  // namespace anchor_events::delivery
