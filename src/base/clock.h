// The clock seen by retry scheduling and signing; tests replace it with a manual one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace anchor_events {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for deadlines and backoff.
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // Wall-clock time for signatures, tokens and timestamps.
  virtual std::chrono::system_clock::time_point WallNow() const = 0;

  // The process-wide real clock. Thread-safe.
  static const Clock& Real();
};

// A clock that moves only when told to. Thread-safe: a test thread advances it while the
// code under test reads it.
class ManualClock : public Clock {
 public:
  explicit ManualClock(std::chrono::system_clock::time_point wall_start =
                           std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)))
      : wall_start_(wall_start) {}

  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(elapsed_ms_.load()));
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return wall_start_ + std::chrono::milliseconds(elapsed_ms_.load());
  }
  void Advance(std::chrono::milliseconds by) { elapsed_ms_.fetch_add(by.count()); }

 private:
  std::chrono::system_clock::time_point wall_start_;
  std::atomic<int64_t> elapsed_ms_{0};
};

inline int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace anchor_events
