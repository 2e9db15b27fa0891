// The outage detector of a lane (SPEC §6.3): when the destination fails for every key, the lane
// stops spending attempts, pauses, and sends one probe at a time (with growing intervals) until
// the destination answers again. "Answers" means any HTTP response that is not a transient
// failure: a 2xx, or a 4xx that rejects one event while proving the server is up.
#pragma once

#include <chrono>

namespace anchor_events::delivery {

struct CircuitOptions {
  int failure_threshold = 5;  // consecutive transient failures that open the circuit
  std::chrono::milliseconds probe_initial{1000};
  std::chrono::milliseconds probe_max{30000};
};

// Not thread-safe; owned by one lane thread. Time is passed in, so tests drive it.
class Circuit {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  enum class State { kClosed, kOpen, kProbing };

  explicit Circuit(CircuitOptions options = {}) : options_(options) {}

  // The destination answered. Returns true when this closed an open circuit.
  bool OnAnswer(TimePoint now);
  // A transient failure. Returns true when this opened the circuit.
  bool OnFailure(TimePoint now);
  // Closes without an answer (nothing was left to probe with).
  void Reset() {
    state_ = State::kClosed;
    consecutive_failures_ = 0;
  }
  // Opens the circuit now (an event ran out of attempts without the destination answering).
  void Open(TimePoint now);

  // True when the lane may send a probe now; the circuit then waits for its outcome.
  bool TryStartProbe(TimePoint now);
  // True when the destination answered at or after `since`.
  bool AnsweredSince(TimePoint since) const { return answered_ && last_answer_ >= since; }

  State state() const { return state_; }
  bool open() const { return state_ != State::kClosed; }
  TimePoint next_probe() const { return next_probe_; }
  int opened_count() const { return opened_count_; }

 private:
  CircuitOptions options_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  bool answered_ = false;
  TimePoint last_answer_{};
  TimePoint next_probe_{};
  std::chrono::milliseconds probe_delay_{0};
  int opened_count_ = 0;
};

}  // namespace anchor_events::delivery
