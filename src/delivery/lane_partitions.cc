// A lane's side of Kafka: commits, pausing, rebalances, and the status it publishes.
#include <algorithm>

#include "delivery/lane.h"
#include "delivery/lane_item.h"

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kCommitInterval{200};
constexpr milliseconds kStatusInterval{250};
constexpr milliseconds kIdleWait{100};
constexpr int kResumeQueryTimeoutMs = 5000;

}  // namespace

void Lane::MaybeCommit(bool force) {
  steady_clock::time_point now = clock_->Now();
  // The read-ahead window shrinks only when the broker acknowledges a commit, so on the timer
  // alone a busy lane would stall at about one window per interval. Once a quarter of the window
  // is used the lane commits at once, one commit in flight at a time.
  bool eager = !commit_in_flight_ && tracker_.window() >= ReadAheadLimit() / 4;
  if (!force && !eager && now < next_commit_) {
    return;
  }
  std::vector<kafka::PartitionOffset> offsets = tracker_.TakeCommittable();
  if (offsets.empty() && !force && now < next_commit_) {
    return;  // an eager check with nothing new keeps the timer's schedule
  }
  next_commit_ = now + kCommitInterval;
  commit_in_flight_ = !offsets.empty();
  consumer_->CommitAsync(offsets);
}

void Lane::OnCommitted(const kafka::PartitionOffset& offset, bool ok) {
  commit_in_flight_ = false;
  tracker_.Acknowledge(offset.partition, offset.offset, ok);
  if (!ok) {
    int64_t suppressed = 0;
    if (commit_log_limiter_.Allow(&suppressed)) {
      log_.Warn(
          "offset commit failed, will retry",
          {{"partition", offset.partition}, {"offset", offset.offset}, {"suppressed", suppressed}});
    }
  }
}

size_t Lane::ReadAheadLimit() const {
  // While the destination is down the lane reads ahead only a little: enough records to probe
  // with more than one event, so one event that always fails cannot hold the lane forever.
  return circuit_.open() ? static_cast<size_t>(settings_.options.max_in_flight) : max_pending_;
}

void Lane::UpdateWindowFull() {
  bool full = tracker_.window() >= ReadAheadLimit();
  if (full != window_full_) {
    window_full_ = full;
    log_.Debug(full ? "read-ahead window full, reading paused" : "reading resumed",
               {{"window", static_cast<int64_t>(tracker_.window())}});
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
  // A shared partition the lane has taken nothing from yet: its own consumer never fetched it,
  // so the lag counts from where the lane joined the feed.
  for (int32_t p : shared_) {
    bool known = std::any_of(committable.begin(), committable.end(),
                             [p](const kafka::PartitionOffset& po) { return po.partition == p; });
    if (!known && reads_[p].next >= 0) {
      committable.push_back({p, reads_[p].next});
    }
  }
  status_.joined = consumer_->joined();
  status_.paused = window_full_;
  status_.last_error = consumer_->last_error();
  status_.circuit = circuit_.state() == Circuit::State::kClosed
                        ? "closed"
                        : (circuit_.state() == Circuit::State::kOpen ? "open" : "probing");
  status_.partitions = consumer_->assigned();
  status_.shared_partitions = shared_;
  std::sort(status_.shared_partitions.begin(), status_.shared_partitions.end());
  status_.in_flight = static_cast<int64_t>(sender_->in_flight());
  status_.pending = static_cast<int64_t>(tracker_.unfinished());
  status_.window = static_cast<int64_t>(tracker_.window());
  status_.waiting_retry = static_cast<int64_t>(retry_timers_.size());
  status_.dead_lettering = static_cast<int64_t>(dead_lettering_);
  // A partition read through the feed is not fetched by the lane's consumer, so its end comes
  // from the feed.
  status_.lag = consumer_->Lag(committable, [this](int32_t partition) -> int64_t {
    auto read = reads_.find(partition);
    return read != reads_.end() && read->second.shared ? settings_.feed->HighWatermark(partition)
                                                       : -1;
  });
  lane_metrics_.pending->Set(static_cast<double>(status_.pending));
  lane_metrics_.lag->Set(static_cast<double>(status_.lag));
  lane_metrics_.assigned_partitions->Set(static_cast<double>(status_.partitions.size()));
  lane_metrics_.shared_partitions->Set(static_cast<double>(status_.shared_partitions.size()));
}

void Lane::OnAssigned(const std::vector<int32_t>& partitions) {
  std::string list;
  for (int32_t p : partitions) {
    list += (list.empty() ? "" : ",") + std::to_string(p);
  }
  log_.Info("partitions assigned", {{"partitions", list}});
  if (!settings_.feed || draining_) {
    return;  // while closing (Consumer::Close waits for a first assignment): nothing to read
  }
  // A new partition is read through the shared fetch from the start when it can be, so the
  // lane's own consumer never prefetches it (with many lanes, that prefetch is most of the
  // memory). Where that cannot be, the lane fetches it on its own.
  Result<std::vector<kafka::PartitionOffset>> starts =
      consumer_->QueryResumePoints(partitions, kResumeQueryTimeoutMs);
  if (!starts.ok()) {
    log_.Debug("fetching on its own", {{"error", starts.error().message}});
    for (int32_t p : partitions) {
      consumer_->Resume(p);  // in case a pause from an earlier assignment outlived it
    }
    return;
  }
  for (const kafka::PartitionOffset& start : *starts) {
    if (!Share(start.partition, start.offset, /*rewind=*/true)) {
      consumer_->Resume(start.partition);
    }
  }
}

void Lane::OnRevoked(const std::vector<int32_t>& partitions, bool lost) {
  for (int32_t p : partitions) {
    auto read = reads_.find(p);
    if (read == reads_.end()) {
      continue;
    }
    if (read->second.shared) {
      settings_.feed->Detach(this, p);
      shared_.erase(std::remove(shared_.begin(), shared_.end(), p), shared_.end());
    }
    reads_.erase(read);
  }
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
    if (std::find(partitions.begin(), partitions.end(), item.record->partition) ==
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
