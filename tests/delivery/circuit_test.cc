#include "delivery/circuit.h"

#include <gtest/gtest.h>

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using TimePoint = Circuit::TimePoint;

TimePoint At(int64_t ms) { return TimePoint(milliseconds(ms)); }

TEST(CircuitTest, OpensAfterConsecutiveFailuresOnly) {
  Circuit circuit({3, milliseconds(1000), milliseconds(8000)});

  circuit.OnFailure(At(0));
  circuit.OnFailure(At(1));
  circuit.OnAnswer(At(2));
  circuit.OnFailure(At(3));
  circuit.OnFailure(At(4));
  EXPECT_FALSE(circuit.open());

  EXPECT_TRUE(circuit.OnFailure(At(5)));
  EXPECT_TRUE(circuit.open());
  EXPECT_EQ(circuit.opened_count(), 1);
}

TEST(CircuitTest, ProbesOneAtATimeWithGrowingIntervals) {
  Circuit circuit({1, milliseconds(1000), milliseconds(4000)});
  circuit.OnFailure(At(0));

  EXPECT_FALSE(circuit.TryStartProbe(At(999)));
  EXPECT_TRUE(circuit.TryStartProbe(At(1000)));
  EXPECT_FALSE(circuit.TryStartProbe(At(1001)));  // one probe at a time
  circuit.OnFailure(At(1100));
  EXPECT_EQ(circuit.next_probe(), At(3100));
  EXPECT_TRUE(circuit.TryStartProbe(At(3100)));
  circuit.OnFailure(At(3200));
  EXPECT_EQ(circuit.next_probe(), At(7200));
  EXPECT_TRUE(circuit.TryStartProbe(At(7200)));
  circuit.OnFailure(At(7300));
  EXPECT_EQ(circuit.next_probe(), At(11300));  // capped at probe_max
}

TEST(CircuitTest, AnswerClosesAndResetsTheProbeInterval) {
  Circuit circuit({1, milliseconds(1000), milliseconds(4000)});
  circuit.OnFailure(At(0));
  ASSERT_TRUE(circuit.TryStartProbe(At(1000)));

  EXPECT_TRUE(circuit.OnAnswer(At(1050)));
  EXPECT_FALSE(circuit.open());
  circuit.OnFailure(At(2000));
  EXPECT_EQ(circuit.next_probe(), At(3000));
  EXPECT_EQ(circuit.opened_count(), 2);
}

TEST(CircuitTest, TellsWhetherTheDestinationAnsweredSinceATime) {
  Circuit circuit;

  EXPECT_FALSE(circuit.AnsweredSince(At(0)));
  circuit.OnAnswer(At(500));
  EXPECT_TRUE(circuit.AnsweredSince(At(400)));
  EXPECT_FALSE(circuit.AnsweredSince(At(600)));
}

}  // namespace
}  // namespace anchor_events::delivery
