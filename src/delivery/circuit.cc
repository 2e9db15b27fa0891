#include "delivery/circuit.h"

#include <algorithm>

namespace anchor_events::delivery {

bool Circuit::OnAnswer(TimePoint now) {
  answered_ = true;
  last_answer_ = now;
  consecutive_failures_ = 0;
  bool was_open = open();
  state_ = State::kClosed;
  probe_delay_ = std::chrono::milliseconds(0);
  return was_open;
}

bool Circuit::OnFailure(TimePoint now) {
  ++consecutive_failures_;
  if (state_ == State::kProbing) {
    // The probe failed: wait longer before the next one.
    state_ = State::kOpen;
    probe_delay_ = std::min(probe_delay_ * 2, options_.probe_max);
    next_probe_ = now + probe_delay_;
    return false;
  }
  if (state_ == State::kClosed && consecutive_failures_ >= options_.failure_threshold) {
    Open(now);
    return true;
  }
  return false;
}

void Circuit::Open(TimePoint now) {
  if (open()) {
    return;
  }
  state_ = State::kOpen;
  ++opened_count_;
  probe_delay_ = options_.probe_initial;
  next_probe_ = now + probe_delay_;
}

bool Circuit::TryStartProbe(TimePoint now) {
  if (state_ != State::kOpen || now < next_probe_) {
    return false;
  }
  state_ = State::kProbing;
  return true;
}

}  // namespace anchor_events::delivery
