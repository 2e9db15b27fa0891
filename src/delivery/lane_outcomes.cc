// What a lane does with the outcome of an attempt: delivered, retried, circuit, dead letters.
#include <algorithm>
#include <utility>

#include "delivery/lane.h"
#include "delivery/lane_item.h"
#include "event/body.h"

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kDeadLetterRetry{5000};

}  // namespace

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
  prometheus::Counter*& attempts = attempt_counters_.at(response.StatusClassIndex());
  if (attempts == nullptr) {
    attempts = &metrics_->Attempts(settings_.name, response.StatusClass());
  }
  attempts->Increment();
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
    if (item.record->timestamp_ms > 0) {
      auto age = clock_->WallNow().time_since_epoch() - milliseconds(item.record->timestamp_ms);
      lane_metrics_.event_age->Observe(std::chrono::duration<double>(age).count());
    }
    if (log_.Enabled(ops::LogLevel::kDebug)) {
      log_.Debug("event delivered", {{"partition", item.record->partition},
                                     {"offset", item.record->offset},
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
  // A query string may carry a token, so a refused destination is named without it.
  const std::string& url = item.prepared->url;
  log_.Error("delivery rejected",
             {{"partition", item.record->partition},
              {"offset", item.record->offset},
              {"event_id", item.prepared->event_id},
              {"attempt", item.attempts},
              {"status_code", static_cast<int64_t>(response.status)},
              {"duration_ms", duration_ms},
              {"error", response.error},
              {"location", response.location},
              {"blocked", response.blocked},
              {"destination", response.blocked.empty() ? "" : url.substr(0, url.find('?'))}});
  if (settings_.dead_letters) {
    DeadLetter(item, "rejected");
  } else {
    FinishItem(item.id);
  }
}

void Lane::OnTransientFailure(Item& item, const HttpResponse& response, bool was_probe) {
  steady_clock::time_point now = clock_->Now();
  if (response.status >= 300 && response.status < 400) {
    int64_t suppressed = 0;
    if (redirect_log_limiter_.Allow(&suppressed)) {
      // The query of a Location may carry tokens; the rest tells the operator where it points.
      log_.Warn("destination answered with a redirect, which is never followed",
                {{"status_code", static_cast<int64_t>(response.status)},
                 {"location", response.location.substr(0, response.location.find('?'))},
                 {"event_id", item.event_id},
                 {"suppressed", suppressed}});
    }
  }
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
               {{"partition", item.record->partition},
                {"offset", item.record->offset},
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
              {{"partition", item.record->partition},
               {"offset", item.record->offset},
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
  if (item.record->has_key) {
    letter.key = item.record->key;
  }
  letter.value = item.record->value;
  letter.original_headers = item.record->headers;
  letter.source_topic = settings_.consumer.topic;
  letter.source_partition = item.record->partition;
  letter.source_offset = item.record->offset;
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
      log_.Debug("dead-lettered", {{"partition", item.record->partition},
                                   {"offset", item.record->offset},
                                   {"event_id", item.event_id},
                                   {"reason", item.reason}});
      FinishItem(id);
      continue;
    }
    // The offset must not move past a record that is neither delivered nor dead-lettered.
    int64_t suppressed = 0;
    if (dead_letter_log_limiter_.Allow(&suppressed)) {
      log_.Error("dead-letter write failed, lane holds its offset and retries",
                 {{"partition", item.record->partition},
                  {"offset", item.record->offset},
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
  tracker_.Finish(item.record->partition, item.record->offset);
  items_.erase(it);
}

}  // namespace anchor_events::delivery
