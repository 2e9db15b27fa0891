#include "delivery/retry_policy.h"

#include <set>

#include <gtest/gtest.h>

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, ClientDefaultsAreThreeAttemptsOneThenTwoSeconds) {
  Backoff backoff(config::DefaultClientLaneOptions().retry, 7);

  EXPECT_TRUE(backoff.MayRetry(1));
  EXPECT_TRUE(backoff.MayRetry(2));
  EXPECT_FALSE(backoff.MayRetry(3));
  for (int i = 0; i < 50; ++i) {
    milliseconds first = backoff.Delay(1, std::nullopt);
    milliseconds second = backoff.Delay(2, std::nullopt);
    EXPECT_GE(first.count(), 800);
    EXPECT_LE(first.count(), 1200);
    EXPECT_GE(second.count(), 1600);
    EXPECT_LE(second.count(), 2400);
  }
}

TEST(BackoffTest, CallbackApiDefaultsGrowToFiveMinutes) {
  Backoff backoff(config::DefaultCallbackApiLaneOptions().retry, 7);

  EXPECT_TRUE(backoff.MayRetry(9));
  EXPECT_FALSE(backoff.MayRetry(10));
  milliseconds late = backoff.Delay(9, std::nullopt);
  EXPECT_GE(late.count(), 240000);
  EXPECT_LE(late.count(), 360000);
}

TEST(BackoffTest, JitterSpreadsDelays) {
  Backoff backoff(config::DefaultClientLaneOptions().retry, 11);

  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i) {
    seen.insert(backoff.Delay(1, std::nullopt).count());
  }

  EXPECT_GT(seen.size(), 10u);
}

TEST(BackoffTest, RetryAfterIsHonouredAndClampedToTheMaximum) {
  Backoff backoff(config::DefaultClientLaneOptions().retry, 3);

  EXPECT_EQ(backoff.Delay(1, milliseconds(1500)), milliseconds(1500));
  EXPECT_EQ(backoff.Delay(1, milliseconds(60000)), milliseconds(2000));
  EXPECT_EQ(backoff.Delay(1, milliseconds(0)), milliseconds(0));
}

}  // namespace
}  // namespace anchor_events::delivery
