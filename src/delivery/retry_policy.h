// Backoff between attempts (SPEC §6.3): exponential with +/- jitter, Retry-After honoured and
// clamped to the lane's maximum.
#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "config/config.h"

namespace anchor_events::delivery {

// Not thread-safe (owns its random generator); one per lane.
class Backoff {
 public:
  explicit Backoff(config::RetryPolicy policy, uint64_t seed = std::random_device{}())
      : policy_(policy), random_(seed) {}

  // True when another attempt may follow attempt number `attempts` (1-based).
  bool MayRetry(int attempts) const { return attempts < policy_.max_attempts; }

  // The wait after failed attempt number `attempts` (1-based).
  std::chrono::milliseconds Delay(int attempts,
                                  std::optional<std::chrono::milliseconds> retry_after);

  const config::RetryPolicy& policy() const { return policy_; }

 private:
  config::RetryPolicy policy_;
  std::mt19937_64 random_;
};

}  // namespace anchor_events::delivery
