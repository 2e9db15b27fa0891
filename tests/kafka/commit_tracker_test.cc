#include "kafka/commit_tracker.h"

#include <gtest/gtest.h>

namespace anchor_events::kafka {
namespace {

TEST(CommitTrackerTest, CommitsOnlyPastRecordsThatAreAllFinished) {
  CommitTracker tracker;
  for (int64_t offset = 10; offset < 15; ++offset) {
    tracker.Add(0, offset);
  }

  tracker.Finish(0, 11);
  tracker.Finish(0, 12);
  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 10}}));

  tracker.Finish(0, 10);
  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 13}}));

  tracker.Finish(0, 13);
  tracker.Finish(0, 14);
  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 15}}));
  EXPECT_TRUE(tracker.TakeCommittable().empty());
  EXPECT_EQ(tracker.unfinished(), 0u);
}

TEST(CommitTrackerTest, RecordsFinishedAsTheyAreReadNeverHoldBackOrPassAnUnfinishedOne) {
  CommitTracker tracker;
  tracker.AddFinished(0, 20);  // the group's committed offset was 20
  tracker.AddFinished(0, 21);
  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 22}}));
  EXPECT_EQ(tracker.window(), 2u);

  tracker.Add(0, 22);
  tracker.AddFinished(0, 23);
  tracker.AddFinished(0, 24);
  EXPECT_TRUE(tracker.TakeCommittable().empty()) << "22 is not finished";
  EXPECT_EQ(tracker.unfinished(), 1u);

  tracker.Finish(0, 22);
  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 25}}));
  EXPECT_EQ(tracker.window(), 5u);
  tracker.Acknowledge(0, 25, true);
  EXPECT_EQ(tracker.window(), 0u);
}

TEST(CommitTrackerTest, PartitionsAdvanceIndependently) {
  CommitTracker tracker;
  tracker.Add(0, 0);
  tracker.Add(1, 0);
  tracker.Add(1, 1);

  tracker.Finish(1, 0);
  tracker.Finish(1, 1);

  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 0}, {1, 2}}));
  EXPECT_EQ(tracker.unfinished(0), 1u);
}

TEST(CommitTrackerTest, WindowCountsEverythingPastTheAcknowledgedOffset) {
  CommitTracker tracker;
  for (int64_t offset = 0; offset < 10; ++offset) tracker.Add(0, offset);
  tracker.Add(1, 100);

  for (int64_t offset = 1; offset < 10; ++offset) tracker.Finish(0, offset);

  // Offset 0 still holds the commit: all ten would be read again after a crash.
  EXPECT_EQ(tracker.unfinished(), 2u);
  EXPECT_EQ(tracker.window(), 11u);
  tracker.Finish(0, 0);
  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 10}, {1, 100}}));
  EXPECT_EQ(tracker.window(), 11u);  // committed, not yet acknowledged
  tracker.Acknowledge(0, 10, true);
  EXPECT_EQ(tracker.window(), 1u);
}

TEST(CommitTrackerTest, FailedCommitIsOfferedAgain) {
  CommitTracker tracker;
  tracker.Add(0, 5);
  tracker.Finish(0, 5);
  ASSERT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 6}}));
  EXPECT_TRUE(tracker.TakeCommittable().empty());

  tracker.Acknowledge(0, 6, false);

  EXPECT_EQ(tracker.TakeCommittable(), (std::vector<PartitionOffset>{{0, 6}}));
  EXPECT_EQ(tracker.window(), 1u);
}

TEST(CommitTrackerTest, DroppedPartitionIsForgotten) {
  CommitTracker tracker;
  tracker.Add(3, 5);
  tracker.Add(3, 6);

  tracker.Drop(3);

  EXPECT_EQ(tracker.unfinished(), 0u);
  EXPECT_TRUE(tracker.AllCommittable().empty());
}

}  // namespace
}  // namespace anchor_events::kafka
