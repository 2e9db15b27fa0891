// The shared fetch on the embedded broker: readers get every record in order from one fetch, a
// reader too far behind is refused, and a stalled reader is detached instead of holding the
// others back.
#include "kafka/feed.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "kafka/embedded_broker.h"
#include "kafka/producer.h"

namespace anchor_events::kafka {
namespace {

using std::chrono::milliseconds;

constexpr const char* kTopic = "TRANSACTION";

struct Reader : Feed::Subscriber {
  void WakeFromFeed() override { wakes.fetch_add(1); }
  bool Selective() const override { return !tags.empty(); }
  bool WakesFor(uint64_t tag) const override {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
  }
  std::atomic<int> wakes{0};
  std::vector<std::shared_ptr<const Record>> records;
  std::vector<uint64_t> tags;  // empty: woken for every record
};

// The tag the selective readers below want, and the feed's tag function for them: records whose
// value starts with "mine" are theirs, "all" is every reader's, the rest another tag.
constexpr uint64_t kMine = 7;
uint64_t TagByValue(const std::shared_ptr<const Record>& record) {
  if (record->value.rfind("mine", 0) == 0) return kMine;
  if (record->value.rfind("all", 0) == 0) return Feed::kEveryone;
  return 9;
}

class FeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::move(EmbeddedBroker::Start()).value();
    ASSERT_TRUE(broker_->CreateTopic(kTopic, 1).ok());
    kafka_.bootstrap_server = broker_->bootstrap_servers();
    producer_ = std::move(Producer::Create(kafka_)).value();
  }

  void Produce(int from, int count) {
    for (int i = from; i < from + count; ++i) {
      ASSERT_TRUE(producer_->ProduceSync({kTopic, "key", "value-" + std::to_string(i), {}}).ok());
    }
  }

  std::shared_ptr<Feed> MakeFeed(size_t max_records = 1024) {
    return std::move(Feed::Create(Options(max_records))).value();
  }

  FeedOptions Options(size_t max_records = 1024) {
    FeedOptions options;
    options.kafka = kafka_;
    options.topic = kTopic;
    options.max_records = max_records;
    return options;
  }

  // A feed that tags records by value (TagByValue), with `all` (woken for every record) and
  // `mine` (selective, wanting kMine) attached at offset 0.
  std::shared_ptr<Feed> MakeTaggedFeed(int64_t lazy_records, milliseconds lazy_wake, Reader& all,
                                       Reader& mine) {
    FeedOptions options = Options();
    options.tag = TagByValue;
    options.lazy_records = lazy_records;
    options.lazy_wake = lazy_wake;
    auto feed = std::move(Feed::Create(options)).value();
    mine.tags = {kMine};
    EXPECT_TRUE(feed->Attach(&all, 0, 0));
    EXPECT_TRUE(feed->Attach(&mine, 0, 0));
    return feed;
  }

  void ProduceValues(std::initializer_list<std::string> values) {
    for (const std::string& value : values) {
      ASSERT_TRUE(producer_->ProduceSync({kTopic, "key", value, {}}).ok());
    }
  }

  // Waits until `reader` was woken more than `than` times; false after 20 s.
  static bool WokenMore(const Reader& reader, int than) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (reader.wakes.load() <= than && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return reader.wakes.load() > than;
  }

  // Takes until `reader` holds `count` records or the feed says it is detached; false on
  // timeout.
  static Feed::TakeResult TakeUntil(Feed& feed, Reader& reader, size_t count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (reader.records.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::shared_ptr<const Record> record;
      Feed::TakeResult result = feed.Take(&reader, 0, &record);
      if (result == Feed::TakeResult::kDetached) return result;
      if (result == Feed::TakeResult::kRecord) {
        reader.records.push_back(record);
      } else {
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
    return reader.records.size() >= count ? Feed::TakeResult::kRecord : Feed::TakeResult::kEmpty;
  }

  // The feed let `reader` go and told it, so its lane would fetch on its own.
  static void ExpectLetGo(Feed& feed, Reader& reader) {
    std::shared_ptr<const Record> record;
    EXPECT_EQ(feed.Take(&reader, 0, &record), Feed::TakeResult::kDetached);
    EXPECT_GT(reader.wakes.load(), 0);
  }

  static void ExpectOffsets(const Reader& reader, int64_t from, size_t count) {
    ASSERT_EQ(reader.records.size(), count);
    for (size_t i = 0; i < count; ++i) {
      EXPECT_EQ(reader.records[i]->offset, from + static_cast<int64_t>(i));
      EXPECT_EQ(reader.records[i]->value, "value-" + std::to_string(from + i));
      EXPECT_EQ(reader.records[i]->key, "key");
    }
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  config::KafkaConfig kafka_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(FeedTest, TwoReadersGetEveryRecordInOrderFromOneCopy) {
  Produce(0, 50);
  auto feed = MakeFeed();
  Reader a, b;
  ASSERT_TRUE(feed->Attach(&a, 0, 0));
  ASSERT_TRUE(feed->Attach(&b, 0, 10));  // starts later: gets offsets 10 on
  EXPECT_EQ(feed->cursors(), 2u);

  EXPECT_EQ(TakeUntil(*feed, a, 50), Feed::TakeResult::kRecord);
  EXPECT_EQ(TakeUntil(*feed, b, 40), Feed::TakeResult::kRecord);
  ExpectOffsets(a, 0, 50);
  ExpectOffsets(b, 10, 40);
  EXPECT_EQ(a.records[10].get(), b.records[0].get());  // one copy for both
  EXPECT_GT(a.wakes.load(), 0);
  EXPECT_EQ(feed->HighWatermark(0), 50);
}

TEST_F(FeedTest, BatchesComeInOrderWithinTheirBoundAndTheNextRecordWakesAReaderThatTookAll) {
  Produce(0, 30);
  auto feed = MakeFeed();
  Reader a;
  ASSERT_TRUE(feed->Attach(&a, 0, 0));
  std::vector<std::shared_ptr<const Record>> batch;
  EXPECT_EQ(feed->Take(&a, 0, 0, &batch), Feed::TakeResult::kEmpty) << "asked for none";
  EXPECT_TRUE(batch.empty());
  size_t largest = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (a.records.size() < 30 && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    if (feed->Take(&a, 0, 8, &batch) != Feed::TakeResult::kRecord) {
      std::this_thread::sleep_for(milliseconds(5));
      continue;
    }
    EXPECT_LE(batch.size(), 8u);
    largest = std::max(largest, batch.size());
    a.records.insert(a.records.end(), batch.begin(), batch.end());
  }
  ExpectOffsets(a, 0, 30);
  EXPECT_GT(largest, 1u) << "records already fetched come several at a time";
  // Its last batch took everything buffered, without an empty Take after it: the feed must
  // still wake it for the next record.
  const int wakes = a.wakes.load();
  Produce(30, 1);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (a.wakes.load() == wakes && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_GT(a.wakes.load(), wakes);
  EXPECT_EQ(TakeUntil(*feed, a, 31), Feed::TakeResult::kRecord);
  ExpectOffsets(a, 0, 31);
}

TEST_F(FeedTest, AReaderBehindWhatTheFeedStillHoldsIsRefused) {
  Produce(0, 30);
  auto feed = MakeFeed();
  Reader a, b, c;
  ASSERT_TRUE(feed->Attach(&a, 0, 0));
  ASSERT_EQ(TakeUntil(*feed, a, 30), Feed::TakeResult::kRecord);  // the feed keeps nothing
  EXPECT_FALSE(feed->Attach(&b, 0, 5));
  ASSERT_TRUE(feed->Attach(&c, 0, 30));
  Produce(30, 5);
  EXPECT_EQ(TakeUntil(*feed, c, 5), Feed::TakeResult::kRecord);
  ExpectOffsets(c, 30, 5);
  std::shared_ptr<const Record> none;
  EXPECT_EQ(feed->Take(&b, 0, &none), Feed::TakeResult::kDetached);
}

TEST_F(FeedTest, AReaderJustGivenThePartitionMayTakeTheFeedBackABoundedWay) {
  Produce(0, 30);
  FeedOptions options;
  options.kafka = kafka_;
  options.topic = kTopic;
  options.max_rewind = 20;
  auto feed = std::move(Feed::Create(options)).value();
  Reader a, b, c;
  ASSERT_TRUE(feed->Attach(&a, 0, 0));
  ASSERT_EQ(TakeUntil(*feed, a, 30), Feed::TakeResult::kRecord);
  EXPECT_FALSE(feed->Attach(&b, 0, 5, /*rewind=*/true)) << "25 back is past max_rewind";
  ASSERT_TRUE(feed->Attach(&c, 0, 12, /*rewind=*/true));
  Produce(30, 5);
  EXPECT_EQ(TakeUntil(*feed, c, 23), Feed::TakeResult::kRecord);
  ExpectOffsets(c, 12, 23);
  EXPECT_EQ(TakeUntil(*feed, a, 35), Feed::TakeResult::kRecord);
  ExpectOffsets(a, 0, 35);  // nothing twice, nothing missed
}

TEST_F(FeedTest, AStalledReaderIsDetachedAndTheOthersGoOn) {
  Produce(0, 100);
  auto feed = MakeFeed(/*max_records=*/10);
  Reader fast, stalled;
  ASSERT_TRUE(feed->Attach(&fast, 0, 0));
  ASSERT_TRUE(feed->Attach(&stalled, 0, 0));
  std::shared_ptr<const Record> first;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (feed->Take(&stalled, 0, &first) == Feed::TakeResult::kEmpty &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_TRUE(first);
  EXPECT_EQ(first->offset, 0);

  // `stalled` takes nothing more: once it is a whole buffer behind, the feed lets it go.
  EXPECT_EQ(TakeUntil(*feed, fast, 100), Feed::TakeResult::kRecord);
  ExpectOffsets(fast, 0, 100);
  ExpectLetGo(*feed, stalled);
  EXPECT_EQ(feed->cursors(), 1u);
}

TEST_F(FeedTest, ASlowButMovingReaderIsDetachedToo) {
  // One record every 20 ms: it must not pace the others, and it falls a buffer behind.
  Produce(0, 400);
  auto feed = MakeFeed(/*max_records=*/40);
  Reader fast, slow;
  ASSERT_TRUE(feed->Attach(&fast, 0, 0));
  ASSERT_TRUE(feed->Attach(&slow, 0, 0));
  bool slow_detached = false;
  auto next_slow = std::chrono::steady_clock::now();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (fast.records.size() < 400 && std::chrono::steady_clock::now() < deadline) {
    std::shared_ptr<const Record> record;
    while (feed->Take(&fast, 0, &record) == Feed::TakeResult::kRecord) {
      fast.records.push_back(record);
    }
    if (!slow_detached && std::chrono::steady_clock::now() >= next_slow) {
      next_slow += milliseconds(20);
      Feed::TakeResult result = feed->Take(&slow, 0, &record);
      if (result == Feed::TakeResult::kRecord) slow.records.push_back(record);
      slow_detached = result == Feed::TakeResult::kDetached;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  ExpectOffsets(fast, 0, 400);  // at 50 records/s the slow one alone would need 8 s
  EXPECT_TRUE(slow_detached);
  EXPECT_LT(slow.records.size(), 400u);
}

TEST_F(FeedTest, AReaderLeavingDoesNotStrandTheOnesAheadOfIt) {
  Produce(0, 50);
  auto feed = MakeFeed();
  Reader behind, ahead;
  ASSERT_TRUE(feed->Attach(&behind, 0, 0));
  ASSERT_TRUE(feed->Attach(&ahead, 0, 20));
  std::this_thread::sleep_for(milliseconds(300));  // the feed buffers 0..49 for `behind`
  feed->Detach(&behind, 0);
  EXPECT_EQ(TakeUntil(*feed, ahead, 30), Feed::TakeResult::kRecord);
  ExpectOffsets(ahead, 20, 30);
  Produce(50, 5);
  EXPECT_EQ(TakeUntil(*feed, ahead, 35), Feed::TakeResult::kRecord);
}

TEST_F(FeedTest, AnOffsetOutOfRangeDetachesInsteadOfSkipping) {
  Produce(0, 10);
  auto feed = MakeFeed();
  Reader reader;
  ASSERT_TRUE(feed->Attach(&reader, 0, 500));  // past the end of the log
  Produce(10, 5);
  EXPECT_EQ(TakeUntil(*feed, reader, 1), Feed::TakeResult::kDetached);
  EXPECT_TRUE(reader.records.empty());
  EXPECT_GT(reader.wakes.load(), 0);
  EXPECT_EQ(feed->cursors(), 0u);
}

TEST_F(FeedTest, AReaderFarAheadLeadsAndTheOnesFarBehindGoOnTheirOwn) {
  Produce(0, 100);
  auto feed = MakeFeed(/*max_records=*/16);
  Reader behind, near, ahead;
  ASSERT_TRUE(feed->Attach(&behind, 0, 0));
  ASSERT_TRUE(feed->Attach(&near, 0, 2));
  // 80 is far past what the feed reads for the others: it follows the new leader, and
  // `behind` and `near` (more than a buffer behind it) are told to fetch on their own.
  ASSERT_TRUE(feed->Attach(&ahead, 0, 80));
  EXPECT_EQ(TakeUntil(*feed, ahead, 20), Feed::TakeResult::kRecord);
  ExpectOffsets(ahead, 80, 20);
  ExpectLetGo(*feed, behind);
  ExpectLetGo(*feed, near);
}

TEST_F(FeedTest, AReaderJoiningAfterOthersFellBehindGetsEveryRecordFromItsOffset) {
  // The buffer must always be every record from its first to the newest, so a reader that is
  // let in anywhere in it misses nothing: checked after a stalled reader was let go.
  Produce(0, 60);
  auto feed = MakeFeed(/*max_records=*/8);
  Reader lead, stalled;
  ASSERT_TRUE(feed->Attach(&lead, 0, 0));
  ASSERT_TRUE(feed->Attach(&stalled, 0, 0));
  ASSERT_EQ(TakeUntil(*feed, lead, 30), Feed::TakeResult::kRecord);
  ExpectLetGo(*feed, stalled);
  int accepted = 0;
  for (int64_t offset = 0; offset <= 30; ++offset) {  // up to where `lead` is
    Reader joining;
    if (!feed->Attach(&joining, 0, offset)) continue;
    ++accepted;
    ASSERT_EQ(TakeUntil(*feed, joining, 1), Feed::TakeResult::kRecord) << offset;
    EXPECT_EQ(joining.records[0]->offset, offset);
    feed->Detach(&joining, 0);
  }
  EXPECT_GT(accepted, 0);
  ASSERT_EQ(TakeUntil(*feed, lead, 60), Feed::TakeResult::kRecord);
  ExpectOffsets(lead, 0, 60);
}

TEST_F(FeedTest, ASelectiveReaderSleepsThroughOtherRecordsUntilItsOwnOrEnoughOfThem) {
  Reader all;
  Reader mine;
  auto feed = MakeTaggedFeed(/*lazy_records=*/4, std::chrono::seconds(60), all, mine);

  // Another reader's record: only the reader of everything is woken.
  ProduceValues({"other-0"});
  EXPECT_EQ(TakeUntil(*feed, all, 1), Feed::TakeResult::kRecord);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(mine.wakes.load(), 0);

  // Its own record wakes it, and it takes the other one first, in order.
  ProduceValues({"mine-1"});
  ASSERT_TRUE(WokenMore(mine, 0));
  EXPECT_EQ(TakeUntil(*feed, mine, 2), Feed::TakeResult::kRecord);
  EXPECT_EQ(mine.records[0]->value, "other-0");
  EXPECT_EQ(mine.records[1]->value, "mine-1");

  // Three more of the others' records leave it asleep; the fourth (lazy_records) wakes it.
  int wakes = mine.wakes.load();
  // One at a time, as live records come (records fetched together wake every reader).
  for (size_t i = 2; i <= 4; ++i) {
    ProduceValues({"other-" + std::to_string(i)});
    EXPECT_EQ(TakeUntil(*feed, all, i + 1), Feed::TakeResult::kRecord);
  }
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(mine.wakes.load(), wakes);
  ProduceValues({"other-5"});
  ASSERT_TRUE(WokenMore(mine, wakes));
  EXPECT_EQ(TakeUntil(*feed, mine, 6), Feed::TakeResult::kRecord);

  // A record every reader must see wakes it at once.
  wakes = mine.wakes.load();
  ProduceValues({"all-6"});
  ASSERT_TRUE(WokenMore(mine, wakes));
  EXPECT_EQ(TakeUntil(*feed, mine, 7), Feed::TakeResult::kRecord);
  EXPECT_EQ(TakeUntil(*feed, all, 7), Feed::TakeResult::kRecord);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(mine.records[i]->offset, static_cast<int64_t>(i));
    EXPECT_EQ(mine.records[i].get(), all.records[i].get());
  }
}

TEST_F(FeedTest, ASelectiveReaderIsWokenWithinLazyWakeForRecordsNotItsOwn) {
  constexpr milliseconds kLazyWake{1000};
  Reader all;
  Reader mine;
  auto feed = MakeTaggedFeed(/*lazy_records=*/1000, kLazyWake, all, mine);

  // Nothing of its own comes, and nothing after: it still learns how far it may go (its lane
  // then commits), not at once but once the record has waited lazy_wake.
  const auto produced = std::chrono::steady_clock::now();
  ProduceValues({"other-0"});
  EXPECT_EQ(TakeUntil(*feed, all, 1), Feed::TakeResult::kRecord);
  EXPECT_EQ(mine.wakes.load(), 0);
  ASSERT_TRUE(WokenMore(mine, 0));
  EXPECT_GE(std::chrono::steady_clock::now() - produced, kLazyWake);
  EXPECT_EQ(TakeUntil(*feed, mine, 1), Feed::TakeResult::kRecord);
  EXPECT_EQ(mine.records[0]->value, "other-0");
}

TEST_F(FeedTest, AReaderAloneIsNeverDetachedAndTheLastDetachStopsTheFetch) {
  Produce(0, 40);
  auto feed = MakeFeed(/*max_records=*/5);
  Reader slow;
  ASSERT_TRUE(feed->Attach(&slow, 0, 0));
  std::this_thread::sleep_for(milliseconds(400));  // the feed reads ahead of it, no further
  EXPECT_EQ(TakeUntil(*feed, slow, 40), Feed::TakeResult::kRecord);
  ExpectOffsets(slow, 0, 40);
  EXPECT_EQ(feed->active_partitions(), 1u);

  feed->Detach(&slow, 0);
  feed->Detach(&slow, 0);  // idempotent
  EXPECT_EQ(feed->active_partitions(), 0u);
  EXPECT_EQ(feed->cursors(), 0u);
  int wakes = slow.wakes.load();
  Produce(40, 5);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(slow.wakes.load(), wakes);

  // Attached again at its position, it goes on from there.
  slow.records.clear();
  ASSERT_TRUE(feed->Attach(&slow, 0, 40));
  EXPECT_EQ(TakeUntil(*feed, slow, 5), Feed::TakeResult::kRecord);
  ExpectOffsets(slow, 40, 5);
}

}  // namespace
}  // namespace anchor_events::kafka
