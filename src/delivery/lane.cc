#include "delivery/lane.h"

#include <algorithm>
#include <utility>

#include "event/body.h"
#include "event/event.h"

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kCommitInterval{200};
constexpr milliseconds kStatusInterval{250};
constexpr milliseconds kIdleWait{100};
constexpr milliseconds kDeadLetterRetry{5000};

std::string ItemKey(int32_t partition, const std::string& key) {
  return std::to_string(partition) + "/" + key;
}

}  // namespace

struct Lane::Item {
  uint64_t id = 0;
  kafka::Record record;  // kept whole for the dead-letter topic
  std::string key;       // scheduler key: partition and object id; empty for poison
  std::string event_id;
  std::shared_ptr<const Prepared> prepared;  // null for poison
  int attempts = 0;
  bool in_flight = false;
  long last_status = 0;
  std::string last_error;
  std::string reason;  // why it is being dead-lettered
  bool probe = false;  // this attempt tests whether the destination is back; it is not counted
  std::chrono::steady_clock::time_point first_attempt_started;
  std::chrono::system_clock::time_point first_attempt;
  std::chrono::system_clock::time_point last_attempt;
};

// Answers from the dead-letter writer's thread, handed to the lane thread. Shared so a late
// answer after the lane is gone touches only this.
struct Lane::DeadLetterAcks {
  std::mutex mutex;
  std::vector<std::pair<uint64_t, Status>> acks;
  HttpSender* wake = nullptr;  // cleared when the lane thread ends
};

Lane::Lane(LaneSettings settings, ops::Metrics* metrics, const Clock* clock)
    : settings_(std::move(settings)),
      metrics_(metrics),
      lane_metrics_(metrics->ForLane(settings_.name)),
      clock_(clock),
      log_(ops::Log().With({{"lane", settings_.name}})),
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
  while (true) {
    if (stop_requested_.load() && !draining_) {
      draining_ = true;
      drain_deadline_ = steady_clock::time_point(steady_clock::duration(stop_deadline_ns_.load()));
      log_.Info("lane draining", {{"in_flight", static_cast<int64_t>(sender_->in_flight())}});
    }
    bool idle = sender_->in_flight() == 0 && dead_lettering_ == 0;
    if (draining_ && (idle || clock_->Now() >= drain_deadline_)) {
      break;
    }
    if (!draining_) {
      PollKafka();
      Dispatch();
    }
    sender_->Wait(NextWait(), draining_ ? -1 : consumer_->wakeup_fd());
    consumer_->DrainWakeups();
    HandleCompleted();
    HandleDeadLetterAcks();
    MaybeCommit(false);
    UpdatePause();
    PublishStatus(false);
  }
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
  // Drain everything queued: the wakeup descriptor only fires when the queue goes from empty
  // to non-empty. Paused partitions stop fetching, so this stays bounded.
  while (std::optional<kafka::Record> record = consumer_->Poll(0)) {
    HandleRecord(std::move(*record));
  }
}

void Lane::HandleRecord(kafka::Record record) {
  lane_metrics_.consumed->Increment();
  tracker_.Add(record.partition, record.offset);
  event::ParseResult parsed =
      event::ParseEvent(record.value, static_cast<size_t>(settings_.max_event_bytes));
  if (const auto* poison = std::get_if<event::Poison>(&parsed)) {
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
      auto item = std::make_unique<Item>();
      item->id = next_id_++;
      item->record = std::move(record);
      Item& ref = *item;
      items_.emplace(item->id, std::move(item));
      DeadLetter(ref, reason);
    } else {
      tracker_.Finish(record.partition, record.offset);
    }
    return;
  }
  const event::Event& event = std::get<event::Event>(parsed);
  auto prepared = settings_.destination->Prepare(event, clock_->WallNow());
  if (const auto* skip = std::get_if<event::SkipReason>(&prepared)) {
    metrics_->CountSkipped(settings_.name, std::string(event::SkipReasonLabel(*skip)));
    if (log_.Enabled(ops::LogLevel::kDebug)) {
      log_.Debug("event skipped", {{"partition", record.partition},
                                   {"offset", record.offset},
                                   {"event_id", event.id},
                                   {"reason", event::SkipReasonLabel(*skip)}});
    }
    tracker_.Finish(record.partition, record.offset);
    return;
  }
  auto item = std::make_unique<Item>();
  item->id = next_id_++;
  item->key = ItemKey(record.partition, event.key);
  item->event_id = event.id;
  item->record = std::move(record);
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
  request.body = item.prepared->body;
  request.timeout = settings_.options.request_timeout;
  request.guard = settings_.guard;
  request.ca_file = settings_.ca_file;
  request.verify_tls = settings_.verify_tls;
  sender_->Start(item.id, std::move(request));
  lane_metrics_.in_flight->Set(static_cast<double>(sender_->in_flight()));
}

void Lane::HandleCompleted() {
  for (auto& [id, response] : sender_->TakeCompleted()) {
    auto it = items_.find(id);
    if (it == items_.end()) {
      continue;  // dropped by a revoke while in flight
    }
    it->second->in_flight = false;
    HandleResponse(*it->second, response);
  }
  lane_metrics_.in_flight->Set(static_cast<double>(sender_->in_flight()));
}

void Lane::HandleResponse(Item& item, const HttpResponse& response) {
  metrics_->CountAttempt(settings_.name, response.StatusClass());
  lane_metrics_.request_duration->Observe(std::chrono::duration<double>(response.duration).count());
  item.last_status = response.status;
  item.last_error = response.error;
  const double duration_ms = static_cast<double>(response.duration.count()) / 1000.0;
  bool answered = response.result == AttemptResult::kDelivered ||
                  (response.result == AttemptResult::kRejected && response.blocked.empty());
  if (answered && circuit_.OnAnswer(clock_->Now())) {
    OnCircuitClosed();
  }
  bool was_probe = std::exchange(item.probe, false);
  if (response.result == AttemptResult::kDelivered) {
    lane_metrics_.delivered->Increment();
    if (item.record.timestamp_ms > 0) {
      auto age = clock_->WallNow().time_since_epoch() - milliseconds(item.record.timestamp_ms);
      lane_metrics_.event_age->Observe(std::chrono::duration<double>(age).count());
    }
    if (log_.Enabled(ops::LogLevel::kDebug)) {
      log_.Debug("event delivered", {{"partition", item.record.partition},
                                     {"offset", item.record.offset},
                                     {"event_id", item.prepared->event_id},
                                     {"attempt", item.attempts},
                                     {"status_code", static_cast<int64_t>(response.status)},
                                     {"duration_ms", duration_ms}});
    }
    FinishItem(item.id);
    return;
  }
  if (response.result == AttemptResult::kRetryable) {
    OnTransientFailure(item, response, was_probe);
    return;
  }
  lane_metrics_.rejected->Increment();
  log_.Error("delivery rejected", {{"partition", item.record.partition},
                                   {"offset", item.record.offset},
                                   {"event_id", item.prepared->event_id},
                                   {"attempt", item.attempts},
                                   {"status_code", static_cast<int64_t>(response.status)},
                                   {"duration_ms", duration_ms},
                                   {"error", response.error},
                                   {"location", response.location}});
  if (settings_.dead_letters) {
    DeadLetter(item, "rejected");
  } else {
    FinishItem(item.id);
  }
}

void Lane::OnTransientFailure(Item& item, const HttpResponse& response, bool was_probe) {
  steady_clock::time_point now = clock_->Now();
  bool opened = circuit_.OnFailure(now);
  if (!was_probe && !backoff_.MayRetry(item.attempts) &&
      !circuit_.AnsweredSince(item.first_attempt_started)) {
    // Out of attempts, but the destination has not answered anything since this event's first
    // try: it is down, not rejecting this event. An outage pauses the lane; it never
    // dead-letters. Once anything is answered again the event gets one more attempt.
    if (!circuit_.open()) {
      circuit_.Open(now);
      opened = true;
    }
  }
  if (opened) {
    OnCircuitOpened(response);
  }
  if (was_probe || circuit_.open()) {
    // Attempts made while the destination is down are not held against the event.
    if (!backoff_.MayRetry(item.attempts) || was_probe) {
      --item.attempts;
    }
    retry_timers_.emplace(circuit_.next_probe(), item.id);
    return;
  }
  if (!backoff_.MayRetry(item.attempts)) {
    lane_metrics_.exhausted->Increment();
    log_.Error("delivery attempts exhausted",
               {{"partition", item.record.partition},
                {"offset", item.record.offset},
                {"event_id", item.event_id},
                {"attempt", item.attempts},
                {"status_code", static_cast<int64_t>(response.status)},
                {"error", response.error}});
    if (settings_.dead_letters) {
      DeadLetter(item, "exhausted");
    } else {
      FinishItem(item.id);
    }
    return;
  }
  milliseconds delay = backoff_.Delay(item.attempts, response.retry_after);
  retry_timers_.emplace(now + delay, item.id);
  lane_metrics_.retries->Increment();
  int64_t suppressed = 0;
  if (retry_log_limiter_.Allow(&suppressed)) {
    log_.Warn("delivery attempt failed, will retry",
              {{"partition", item.record.partition},
               {"offset", item.record.offset},
               {"event_id", item.event_id},
               {"attempt", item.attempts},
               {"status_code", static_cast<int64_t>(response.status)},
               {"duration_ms", static_cast<double>(response.duration.count()) / 1000.0},
               {"error", response.error},
               {"retry_in_ms", static_cast<int64_t>(delay.count())},
               {"suppressed", suppressed}});
  }
}

void Lane::OnCircuitOpened(const HttpResponse& response) {
  circuit_opened_at_ = clock_->Now();
  lane_metrics_.circuit_open->Set(1);
  log_.Warn("destination unreachable, lane paused and probing",
            {{"status_code", static_cast<int64_t>(response.status)},
             {"error", response.error},
             {"next_probe_ms", static_cast<int64_t>(std::chrono::duration_cast<milliseconds>(
                                                        circuit_.next_probe() - clock_->Now())
                                                        .count())}});
}

void Lane::OnCircuitClosed() {
  lane_metrics_.circuit_open->Set(0);
  // Everything that waited for the destination may go now, in its original order.
  std::multimap<steady_clock::time_point, uint64_t> due;
  steady_clock::time_point now = clock_->Now();
  for (const auto& [when, id] : retry_timers_) {
    due.emplace(std::min(when, now), id);
  }
  retry_timers_.swap(due);
  log_.Info("destination answering again, lane resumed",
            {{"down_ms",
              static_cast<int64_t>(
                  std::chrono::duration_cast<milliseconds>(now - circuit_opened_at_).count())}});
}

void Lane::DeadLetter(Item& item, const std::string& reason) {
  item.reason = reason;
  ++dead_lettering_;
  kafka::DeadLetter letter;
  letter.lane = settings_.name;
  letter.reason = reason;
  if (item.record.has_key) {
    letter.key = item.record.key;
  }
  letter.value = item.record.value;
  letter.original_headers = item.record.headers;
  letter.source_topic = settings_.consumer.topic;
  letter.source_partition = item.record.partition;
  letter.source_offset = item.record.offset;
  letter.event_id = item.event_id;
  letter.attempts = item.attempts;
  letter.last_status = item.last_status;
  letter.last_error = item.last_error;
  if (item.attempts > 0) {
    letter.first_attempt_at = event::FormatTimestamp(item.first_attempt);
    letter.last_attempt_at = event::FormatTimestamp(item.last_attempt);
  }
  settings_.dead_letters->Write(letter, [acks = dead_letter_acks_, id = item.id](Status status) {
    std::lock_guard<std::mutex> lock(acks->mutex);
    acks->acks.emplace_back(id, std::move(status));
    if (acks->wake != nullptr) {
      acks->wake->Wakeup();
    }
  });
}

void Lane::HandleDeadLetterAcks() {
  std::vector<std::pair<uint64_t, Status>> acks;
  {
    std::lock_guard<std::mutex> lock(dead_letter_acks_->mutex);
    acks.swap(dead_letter_acks_->acks);
  }
  for (auto& [id, status] : acks) {
    auto it = items_.find(id);
    if (it == items_.end()) {
      continue;  // its partition was revoked meanwhile
    }
    --dead_lettering_;
    Item& item = *it->second;
    if (status.ok()) {
      metrics_->CountDeadLettered(settings_.name, item.reason);
      log_.Debug("dead-lettered", {{"partition", item.record.partition},
                                   {"offset", item.record.offset},
                                   {"event_id", item.event_id},
                                   {"reason", item.reason}});
      FinishItem(id);
      continue;
    }
    // The offset must not move past a record that is neither delivered nor dead-lettered.
    int64_t suppressed = 0;
    if (dead_letter_log_limiter_.Allow(&suppressed)) {
      log_.Error("dead-letter write failed, lane holds its offset and retries",
                 {{"partition", item.record.partition},
                  {"offset", item.record.offset},
                  {"error", status.error().message},
                  {"suppressed", suppressed}});
    }
    ++dead_lettering_;
    dead_letter_retries_.emplace(clock_->Now() + kDeadLetterRetry, id);
  }
  steady_clock::time_point now = clock_->Now();
  while (!dead_letter_retries_.empty() && dead_letter_retries_.begin()->first <= now) {
    uint64_t id = dead_letter_retries_.begin()->second;
    dead_letter_retries_.erase(dead_letter_retries_.begin());
    auto it = items_.find(id);
    if (it != items_.end()) {
      --dead_lettering_;
      DeadLetter(*it->second, it->second->reason);
    }
  }
}

void Lane::FinishItem(uint64_t id) {
  auto it = items_.find(id);
  if (it == items_.end()) {
    return;
  }
  Item& item = *it->second;
  if (!item.key.empty()) {
    scheduler_.Finish(item.id, item.key);
  }
  tracker_.Finish(item.record.partition, item.record.offset);
  items_.erase(it);
}

void Lane::MaybeCommit(bool force) {
  steady_clock::time_point now = clock_->Now();
  if (!force && now < next_commit_) {
    return;
  }
  next_commit_ = now + kCommitInterval;
  consumer_->CommitAsync(tracker_.TakeCommittable());
}

void Lane::UpdatePause() {
  size_t unfinished = tracker_.unfinished();
  // While the destination is down the lane reads ahead only a little: enough records to probe
  // with more than one event, so one event that always fails cannot hold the lane forever.
  size_t limit =
      circuit_.open() ? static_cast<size_t>(settings_.options.max_in_flight) : max_pending_;
  if (!consumer_->paused() && unfinished >= limit) {
    consumer_->PauseAll();
    log_.Debug("lane full, partitions paused", {{"pending", static_cast<int64_t>(unfinished)}});
  } else if (consumer_->paused() && unfinished <= limit / 2) {
    consumer_->ResumeAll();
  }
}

std::chrono::milliseconds Lane::NextWait() const {
  milliseconds wait = kIdleWait;
  if (!retry_timers_.empty()) {
    auto until =
        std::chrono::duration_cast<milliseconds>(retry_timers_.begin()->first - clock_->Now());
    wait = std::clamp(until, milliseconds(0), wait);
  }
  if (scheduler_.ready() > 0 &&
      sender_->in_flight() < static_cast<size_t>(settings_.options.max_in_flight)) {
    wait = milliseconds(0);
  }
  return wait;
}

void Lane::PublishStatus(bool force) {
  steady_clock::time_point now = clock_->Now();
  std::lock_guard<std::mutex> lock(status_mutex_);
  status_.last_tick = now;
  if (!force && now < next_status_) {
    return;
  }
  next_status_ = now + kStatusInterval;
  std::vector<kafka::PartitionOffset> committable = tracker_.AllCommittable();
  status_.joined = consumer_->joined();
  status_.paused = consumer_->paused();
  status_.circuit = circuit_.state() == Circuit::State::kClosed
                        ? "closed"
                        : (circuit_.state() == Circuit::State::kOpen ? "open" : "probing");
  status_.partitions = consumer_->assigned();
  status_.in_flight = static_cast<int64_t>(sender_->in_flight());
  status_.pending = static_cast<int64_t>(tracker_.unfinished());
  status_.waiting_retry = static_cast<int64_t>(retry_timers_.size());
  status_.dead_lettering = static_cast<int64_t>(dead_lettering_);
  status_.lag = consumer_->Lag(committable);
  lane_metrics_.pending->Set(static_cast<double>(status_.pending));
  lane_metrics_.lag->Set(static_cast<double>(status_.lag));
  lane_metrics_.assigned_partitions->Set(static_cast<double>(status_.partitions.size()));
}

void Lane::OnAssigned(const std::vector<int32_t>& partitions) {
  std::string list;
  for (int32_t p : partitions) {
    list += (list.empty() ? "" : ",") + std::to_string(p);
  }
  log_.Info("partitions assigned", {{"partitions", list}});
}

void Lane::OnRevoked(const std::vector<int32_t>& partitions, bool lost) {
  std::vector<kafka::PartitionOffset> commit;
  for (const kafka::PartitionOffset& po : tracker_.AllCommittable()) {
    if (std::find(partitions.begin(), partitions.end(), po.partition) != partitions.end()) {
      commit.push_back(po);
    }
  }
  if (!lost) {
    if (Status status = consumer_->CommitSync(commit); !status.ok()) {
      log_.Warn("commit on revoke failed", {{"error", status.error().message}});
    }
  }
  for (auto it = items_.begin(); it != items_.end();) {
    Item& item = *it->second;
    if (std::find(partitions.begin(), partitions.end(), item.record.partition) ==
        partitions.end()) {
      ++it;
      continue;
    }
    if (item.in_flight) {
      sender_->Cancel(item.id);
    }
    if (!item.reason.empty()) {
      --dead_lettering_;  // a late answer for it is ignored
    }
    if (!item.key.empty()) {
      scheduler_.DropKey(item.key);
    }
    it = items_.erase(it);
  }
  for (auto* timers : {&retry_timers_, &dead_letter_retries_}) {
    for (auto it = timers->begin(); it != timers->end();) {
      it = items_.count(it->second) ? std::next(it) : timers->erase(it);
    }
  }
  for (int32_t p : partitions) {
    tracker_.Drop(p);
  }
  log_.Info(lost ? "partitions lost" : "partitions revoked",
            {{"count", static_cast<int64_t>(partitions.size())}});
}

}  // namespace anchor_events::delivery
