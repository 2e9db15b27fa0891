#include "delivery/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace anchor_events::delivery {

std::chrono::milliseconds Backoff::Delay(int attempts,
                                         std::optional<std::chrono::milliseconds> retry_after) {
  auto max = policy_.max_backoff;
  if (retry_after) {
    return std::clamp(*retry_after, std::chrono::milliseconds(0), max);
  }
  double base = static_cast<double>(policy_.initial_backoff.count()) *
                std::pow(policy_.multiplier, std::max(0, attempts - 1));
  base = std::min(base, static_cast<double>(max.count()));
  std::uniform_real_distribution<double> jitter(-policy_.jitter, policy_.jitter);
  double delayed = base * (1.0 + jitter(random_));
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, delayed)));
}

}  // namespace anchor_events::delivery
