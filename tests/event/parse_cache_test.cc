#include "event/parse_cache.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace anchor_events::event {
namespace {

std::string Transaction(const std::string& id, const std::string& domain) {
  return R"({"type":"transaction_created","id":")" + id +
         R"(","sep":"24","transaction":{"id":"tx-1","sep":"24","status":"incomplete","client_domain":")" +
         domain + R"("}})";
}

const Event& AsEvent(const std::shared_ptr<const ParseResult>& result) {
  return std::get<Event>(*result);
}

TEST(ParseCacheTest, TheSameRecordIsParsedOnceAndShared) {
  ParseCache cache(8, 1 << 20);
  std::string record = Transaction("e-1", "wallet-a.example");
  auto first = cache.Parse(0, 10, record, 1 << 20);
  auto second = cache.Parse(0, 10, record, 1 << 20);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(AsEvent(second).client_domain, "wallet-a.example");
}

TEST(ParseCacheTest, SharedBytesAreKeptWithoutACopyAndStillCompared) {
  ParseCache cache(8, 1 << 20);
  auto shared = std::make_shared<const std::string>(Transaction("e-1", "wallet-a.example"));
  auto first = cache.Parse(0, 10, shared, 1 << 20);
  EXPECT_EQ(shared.use_count(), 2) << "the cache holds the caller's bytes, not a copy";
  EXPECT_EQ(cache.Parse(0, 10, shared, 1 << 20).get(), first.get());
  auto equal_copy = std::make_shared<const std::string>(*shared);
  EXPECT_EQ(cache.Parse(0, 10, equal_copy, 1 << 20).get(), first.get());
  auto other = std::make_shared<const std::string>(Transaction("e-2", "wallet-a.example"));
  EXPECT_EQ(AsEvent(cache.Parse(0, 10, other, 1 << 20)).id, "e-2");
  EXPECT_EQ(cache.hits(), 2u);
}

TEST(ParseCacheTest, OtherBytesAtTheSameOffsetAreParsedAgain) {
  // A recreated topic reuses offsets: the cache must never hand back another record's event.
  ParseCache cache(8, 1 << 20);
  auto old_record = cache.Parse(0, 10, Transaction("e-1", "wallet-a.example"), 1 << 20);
  auto new_record = cache.Parse(0, 10, Transaction("e-2", "wallet-b.example"), 1 << 20);
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(AsEvent(old_record).id, "e-1");
  EXPECT_EQ(AsEvent(new_record).id, "e-2");
  EXPECT_EQ(AsEvent(new_record).client_domain, "wallet-b.example");
  // Another partition at the same offset is another record too.
  EXPECT_EQ(AsEvent(cache.Parse(1, 10, Transaction("e-3", "c.example"), 1 << 20)).id, "e-3");
}

TEST(ParseCacheTest, ALowerSizeLimitIsNotAnsweredFromALargerOne) {
  ParseCache cache(8, 1 << 20);
  std::string record = Transaction("e-1", "wallet-a.example");
  ASSERT_TRUE(std::holds_alternative<Event>(*cache.Parse(0, 1, record, 1 << 20)));
  auto limited = cache.Parse(0, 1, record, 16);
  ASSERT_TRUE(std::holds_alternative<Poison>(*limited));
  EXPECT_EQ(std::get<Poison>(*limited).reason, PoisonReason::kTooLarge);
}

TEST(ParseCacheTest, PoisonIsSharedLikeAnEvent) {
  ParseCache cache(8, 1 << 20);
  auto first = cache.Parse(0, 5, "{not json", 1 << 20);
  auto second = cache.Parse(0, 5, "{not json", 1 << 20);
  ASSERT_TRUE(std::holds_alternative<Poison>(*second));
  EXPECT_EQ(std::get<Poison>(*second).reason, PoisonReason::kInvalidJson);
  EXPECT_EQ(first.get(), second.get());
}

TEST(ParseCacheTest, KeepsOnlyTheNewestRecords) {
  ParseCache cache(2, 1 << 20);
  std::string record = Transaction("e-1", "a.example");
  auto oldest = cache.Parse(0, 1, record, 1 << 20);
  cache.Parse(0, 2, record, 1 << 20);
  cache.Parse(0, 3, record, 1 << 20);  // drops offset 1
  auto again = cache.Parse(0, 1, record, 1 << 20);
  EXPECT_NE(oldest.get(), again.get());
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(AsEvent(again).id, "e-1");  // a result handed out earlier stays valid
  EXPECT_EQ(AsEvent(oldest).id, "e-1");
}

TEST(ParseCacheTest, ALargeCacheSplitIntoShardsStillKeepsAboutAsManyOfTheNewestRecords) {
  ParseCache cache(1024, 64 << 20);  // four shards of 256 records
  std::string record = Transaction("e-1", "a.example");
  for (int offset = 0; offset < 4000; offset += 2) cache.Parse(3, offset, record, 1 << 20);
  ASSERT_EQ(cache.hits(), 0u);
  // Every other offset (as with transaction markers) still spreads over every shard: the
  // newest 800 are all kept, the oldest 1,000 are not.
  for (int offset = 2400; offset < 4000; offset += 2) cache.Parse(3, offset, record, 1 << 20);
  EXPECT_EQ(cache.hits(), 800u);
  for (int offset = 0; offset < 2000; offset += 2) cache.Parse(3, offset, record, 1 << 20);
  EXPECT_EQ(cache.hits(), 800u);
}

TEST(ParseCacheTest, EachShardKeepsWithinItsShareOfTheByteBudget) {
  std::string record = Transaction("e-1", "a.example");
  ParseCache cache(1024, 4 * 3 * (4 * record.size() + 256));  // four shards, three records each
  for (int offset = 0; offset < 40; ++offset) cache.Parse(0, offset, record, 1 << 20);
  cache.Parse(0, 39, record, 1 << 20);
  EXPECT_EQ(cache.hits(), 1u) << "the newest is kept";
  for (int offset = 0; offset < 39; ++offset) cache.Parse(0, offset, record, 1 << 20);
  EXPECT_LE(cache.hits(), 12u) << "at most three records in each of the four shards";
}

TEST(ParseCacheTest, KeepsWithinItsByteBudgetAndNeverKeepsLargeRecords) {
  std::string record = Transaction("e-1", "a.example");
  ParseCache cache(100, 3 * (4 * record.size() + 256));  // room for three such records
  for (int offset = 0; offset < 4; ++offset) cache.Parse(0, offset, record, 1 << 20);
  cache.Parse(0, 0, record, 1 << 20);  // the oldest was dropped for the fourth
  EXPECT_EQ(cache.hits(), 0u);
  cache.Parse(0, 3, record, 1 << 20);
  EXPECT_EQ(cache.hits(), 1u);

  std::string large = Transaction(std::string(ParseCache::kMaxCachedRecord, 'x'), "a.example");
  ParseCache roomy(100, 64 << 20);
  auto first = roomy.Parse(0, 7, large, 1 << 20);
  auto second = roomy.Parse(0, 7, large, 1 << 20);
  EXPECT_EQ(roomy.hits(), 0u) << "a record over the cached size is parsed each time";
  EXPECT_NE(first.get(), second.get());
  ASSERT_TRUE(std::holds_alternative<Poison>(*second));  // its id is longer than 256 bytes
  EXPECT_EQ(std::get<Poison>(*second).reason, PoisonReason::kInvalidId);
}

TEST(ParseCacheTest, LanesOnManyThreadsGetTheirOwnRecordsEvents) {
  ParseCache cache(1000, 1 << 20);  // holds every record: each is parsed once, or twice in a race
  std::vector<std::thread> lanes;
  std::vector<int> wrong(8, 0);
  for (int lane = 0; lane < 8; ++lane) {
    lanes.emplace_back([&, lane] {
      for (int offset = 0; offset < 500; ++offset) {
        std::string id = "e-" + std::to_string(offset);
        auto result = cache.Parse(0, offset, Transaction(id, "a.example"), 1 << 20);
        if (AsEvent(result).id != id) ++wrong[lane];
      }
    });
  }
  for (std::thread& lane : lanes) lane.join();
  for (int count : wrong) EXPECT_EQ(count, 0);
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace anchor_events::event
