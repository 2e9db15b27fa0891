#include "delivery/key_scheduler.h"

#include <gtest/gtest.h>

namespace anchor_events::delivery {
namespace {

TEST(KeySchedulerTest, ReleasesOneItemPerKeyInOrder) {
  KeyScheduler scheduler;
  scheduler.Add(1, "tx-a");
  scheduler.Add(2, "tx-a");
  scheduler.Add(3, "tx-b");

  EXPECT_EQ(scheduler.PopReady(), 1u);
  EXPECT_EQ(scheduler.PopReady(), 3u);
  EXPECT_EQ(scheduler.PopReady(), std::nullopt);

  scheduler.Finish(1, "tx-a");
  EXPECT_EQ(scheduler.PopReady(), 2u);
}

TEST(KeySchedulerTest, LaterKeysDoNotWaitForABlockedKey) {
  KeyScheduler scheduler;
  scheduler.Add(1, "slow");
  scheduler.Add(2, "slow");
  for (uint64_t id = 3; id < 10; ++id) {
    scheduler.Add(id, "k" + std::to_string(id));
  }

  std::vector<uint64_t> released;
  while (auto id = scheduler.PopReady()) {
    released.push_back(*id);
  }

  EXPECT_EQ(released, (std::vector<uint64_t>{1, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(KeySchedulerTest, DroppedKeyReleasesNothingMore) {
  KeyScheduler scheduler;
  scheduler.Add(1, "a");
  scheduler.Add(2, "a");
  scheduler.Add(3, "b");

  scheduler.DropKey("a");

  EXPECT_EQ(scheduler.PopReady(), 3u);
  EXPECT_EQ(scheduler.PopReady(), std::nullopt);
  scheduler.Finish(1, "a");
  EXPECT_EQ(scheduler.PopReady(), std::nullopt);
  EXPECT_EQ(scheduler.keys(), 1u);
}

}  // namespace
}  // namespace anchor_events::delivery
