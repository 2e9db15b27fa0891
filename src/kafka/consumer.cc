#include "kafka/consumer.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "kafka/client_config.h"
#include "ops/log.h"

namespace anchor_events::kafka {
namespace {

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

// What librdkafka writes to the wakeup pipe when a queue goes from empty to non-empty.
constexpr char kWake = 1;
constexpr std::chrono::seconds kFirstAssignmentWait{5};

std::vector<int32_t> Partitions(const rd_kafka_topic_partition_list_t* list) {
  std::vector<int32_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back(list->elems[i].partition);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
  static ops::RateLimiter limiter(std::chrono::seconds(10));
  int64_t suppressed = 0;
  bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
  if (fatal || limiter.Allow(&suppressed)) {
    ops::Log().Log(
        fatal ? ops::LogLevel::kError : ops::LogLevel::kWarn, "kafka client error",
        {{"client", rd_kafka_name(rk)},
         {"error",
          std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " + reason},
         {"suppressed", suppressed}});
  }
}

Result<ConfPtr> ConsumerConf(const ConsumerOptions& options) {
  Result<ConfPtr> conf = BaseConf(options.kafka);
  if (!conf.ok()) {
    return conf;
  }
  const int partition_kbytes = options.partition_queues ? std::max(64, options.prefetch_kbytes / 4)
                                                        : options.prefetch_kbytes;
  const int fetch_kbytes = options.partition_queues ? std::max(256, options.prefetch_kbytes)
                                                    : std::max(1024, options.prefetch_kbytes);
  const std::vector<std::pair<std::string, std::string>> properties = {
      {"group.id", options.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset",
       options.start_offset == config::StartOffset::kEarliest ? "earliest" : "latest"},
      {"partition.assignment.strategy", "cooperative-sticky"},
      // Bounded prefetch: many lanes share one process (SPEC §9 memory targets). With
      // partition queues the bound applies to each partition, so a quarter of the lane's share
      // goes to each (a lane with P partitions may hold P / 4 shares, plus one fetch); a fetch
      // brings at most that much of one partition.
      {"queued.max.messages.kbytes", std::to_string(partition_kbytes)},
      {"max.partition.fetch.bytes", std::to_string(partition_kbytes * 1024)},
      // A fetch response stays in memory until its last record is taken, so with partition
      // queues it is kept to the lane's share (records larger than that still arrive whole).
      {"fetch.max.bytes", std::to_string(fetch_kbytes * 1024)},
      {"message.max.bytes", std::to_string(fetch_kbytes * 1024)},
      {"enable.partition.eof", "false"},
  };
  // The prefetch sizes are defaults: an operator's own value in kafka.properties stands.
  static const std::vector<std::string> kTunable = {"queued.max.messages.kbytes",
                                                    "max.partition.fetch.bytes", "fetch.max.bytes",
                                                    "message.max.bytes"};
  for (const auto& [name, value] : properties) {
    if (options.kafka.properties.count(name) != 0 &&
        std::find(kTunable.begin(), kTunable.end(), name) != kTunable.end()) {
      continue;
    }
    if (Status status = SetProperty(conf->get(), name, value); !status.ok()) {
      return status.error();
    }
  }
  if (!options.group_instance_id.empty()) {
    if (Status status = SetProperty(conf->get(), "group.instance.id", options.group_instance_id);
        !status.ok()) {
      return status.error();
    }
  }
  rd_kafka_conf_set_error_cb(conf->get(), ErrorCallback);
  return conf;
}

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerOptions& options,
                                                   RebalanceListener* listener) {
  Result<ConfPtr> conf = ConsumerConf(options);
  if (!conf.ok()) {
    return conf.error();
  }
  std::unique_ptr<Consumer> consumer(new Consumer());
  consumer->listener_ = listener;
  consumer->topic_ = options.topic;
  consumer->group_id_ = options.group_id;
  consumer->partition_queues_ = options.partition_queues;
  consumer->start_offset_ = options.start_offset;
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Consumer::RebalanceCallback);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), &Consumer::CommitCallback);
  rd_kafka_conf_set_opaque(conf->get(), consumer.get());

  char error[512];
  consumer->handle_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf->release(), error, sizeof(error));
  if (consumer->handle_ == nullptr) {
    return Error{"creating the Kafka consumer failed for group " + options.group_id + ": " + error};
  }
  rd_kafka_poll_set_consumer(consumer->handle_);
  consumer->queue_ = rd_kafka_queue_get_consumer(consumer->handle_);

  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Error{"creating the wakeup pipe failed for group " + options.group_id};
  }
  consumer->wakeup_read_fd_ = fds[0];
  consumer->wakeup_write_fd_ = fds[1];
  rd_kafka_queue_io_event_enable(consumer->queue_, consumer->wakeup_write_fd_, &kWake, 1);

  ListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer->handle_, topics.get()); err) {
    return Error{"subscribing failed for group " + options.group_id + ": " + rd_kafka_err2str(err)};
  }
  consumer->subscribed_ = true;
  return consumer;
}

Consumer::~Consumer() {
  Close();
  for (const PartitionQueue& open : partition_queues_open_) {
    rd_kafka_queue_destroy(open.queue);
  }
  if (queue_ != nullptr) {
    rd_kafka_queue_destroy(queue_);
  }
  if (handle_ != nullptr) {
    rd_kafka_destroy(handle_);
  }
  if (wakeup_read_fd_ >= 0) {
    close(wakeup_read_fd_);
    close(wakeup_write_fd_);
  }
}

void Consumer::RebalanceCallback(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<Consumer*>(opaque)->OnRebalance(err, partitions);
}

void Consumer::CommitCallback(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* consumer = static_cast<Consumer*>(opaque);
  if (offsets == nullptr || consumer->listener_ == nullptr) {
    return;
  }
  for (int i = 0; i < offsets->cnt; ++i) {
    const rd_kafka_topic_partition_t& elem = offsets->elems[i];
    if (consumer->topic_ == elem.topic && elem.offset >= 0) {
      bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && elem.err == RD_KAFKA_RESP_ERR_NO_ERROR;
      consumer->listener_->OnCommitted({elem.partition, elem.offset}, ok);
    }
  }
}

void Consumer::OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(handle_), "COOPERATIVE") == 0;
  std::vector<int32_t> changed = Partitions(partitions);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (partition_queues_) {
      OpenPartitionQueues(partitions);  // before the fetcher starts, so no record goes elsewhere
    }
    rd_kafka_error_t* error = nullptr;
    if (cooperative) {
      error = rd_kafka_incremental_assign(handle_, partitions);
    } else {
      rd_kafka_assign(handle_, partitions);
    }
    if (error != nullptr) {
      ops::Log().Error("partition assignment failed",
                       {{"group", group_id_}, {"error", rd_kafka_error_string(error)}});
      rd_kafka_error_destroy(error);
    }
    for (int32_t p : changed) {
      assigned_.push_back(p);
    }
    std::sort(assigned_.begin(), assigned_.end());
    joined_ = true;
    listener_->OnAssigned(changed);
    return;
  }
  bool lost = rd_kafka_assignment_lost(handle_) != 0;
  listener_->OnRevoked(changed, lost);
  if (cooperative) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(handle_, partitions)) {
      rd_kafka_error_destroy(error);
    }
  } else {
    rd_kafka_assign(handle_, nullptr);
  }
  ClosePartitionQueues(changed);
  for (int32_t p : changed) {
    assigned_.erase(std::remove(assigned_.begin(), assigned_.end(), p), assigned_.end());
  }
  joined_ = true;
}

void Consumer::OpenPartitionQueues(const rd_kafka_topic_partition_list_t* partitions) {
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& elem = partitions->elems[i];
    rd_kafka_queue_t* queue = rd_kafka_queue_get_partition(handle_, elem.topic, elem.partition);
    if (queue == nullptr) {
      // Its records keep arriving through Poll(), past the caller's read-ahead bound.
      ops::Log().Error("partition queue unavailable, its records bypass the read-ahead bound",
                       {{"group", group_id_}, {"partition", elem.partition}});
      continue;
    }
    rd_kafka_queue_forward(queue, nullptr);
    rd_kafka_queue_io_event_enable(queue, wakeup_write_fd_, &kWake, 1);
    partition_queues_open_.push_back({elem.partition, queue});
  }
}

void Consumer::ClosePartitionQueues(const std::vector<int32_t>& partitions) {
  auto closing = [&](const PartitionQueue& open) {
    if (std::find(partitions.begin(), partitions.end(), open.partition) == partitions.end()) {
      return false;
    }
    rd_kafka_queue_io_event_enable(open.queue, -1, nullptr, 0);
    rd_kafka_queue_destroy(open.queue);
    return true;
  };
  partition_queues_open_.erase(
      std::remove_if(partition_queues_open_.begin(), partition_queues_open_.end(), closing),
      partition_queues_open_.end());
  next_queue_ = 0;
}

std::optional<Record> Consumer::Poll(int timeout_ms) {
  return ToRecord(rd_kafka_consumer_poll(handle_, timeout_ms));
}

std::optional<Record> Consumer::Take() {
  const size_t count = partition_queues_open_.size();
  for (size_t i = 0; i < count; ++i) {
    const PartitionQueue& open = partition_queues_open_[next_queue_ % count];
    next_queue_ = (next_queue_ + 1) % count;
    if (open.paused) {
      continue;
    }
    rd_kafka_queue_t* queue = open.queue;
    while (rd_kafka_message_t* message = rd_kafka_consume_queue(queue, 0)) {
      if (std::optional<Record> record = ToRecord(message)) {
        return record;
      }
    }
  }
  return std::nullopt;
}

std::optional<Record> Consumer::ToRecord(rd_kafka_message_t* message) {
  if (message == nullptr) {
    return std::nullopt;
  }
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
      message, rd_kafka_message_destroy);
  if (message->err) {
    last_error_ = rd_kafka_message_errstr(message);
    int64_t suppressed = 0;
    if (error_limiter_.Allow(&suppressed)) {
      ops::Log().Warn("kafka consume error", {{"group", group_id_},
                                              {"topic", topic_},
                                              {"error", last_error_},
                                              {"suppressed", suppressed}});
    }
    return std::nullopt;
  }
  last_error_.clear();
  return CopyRecord(*message);
}

Record CopyRecord(const rd_kafka_message_t& message) {
  Record record;
  record.partition = message.partition;
  record.offset = message.offset;
  rd_kafka_timestamp_type_t type;
  record.timestamp_ms = rd_kafka_message_timestamp(&message, &type);
  if (message.key != nullptr) {
    record.has_key = true;
    record.key.assign(static_cast<const char*>(message.key), message.key_len);
  }
  if (message.payload != nullptr) {
    record.value.assign(static_cast<const char*>(message.payload), message.len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.headers.emplace_back(
          name, value ? std::string(static_cast<const char*>(value), size) : std::string());
    }
  }
  return record;
}

void Consumer::Wake() { [[maybe_unused]] ssize_t written = write(wakeup_write_fd_, &kWake, 1); }

Status Consumer::Pause(int32_t partition) {
  auto open = std::find_if(partition_queues_open_.begin(), partition_queues_open_.end(),
                           [&](const PartitionQueue& q) { return q.partition == partition; });
  if (open == partition_queues_open_.end()) {
    return Error{"partition " + std::to_string(partition) + " has no queue of its own"};
  }
  ListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition);
  if (rd_kafka_resp_err_t err = rd_kafka_pause_partitions(handle_, list.get()); err) {
    return Error{std::string("pausing failed: ") + rd_kafka_err2str(err)};
  }
  open->paused = true;
  // What was fetched before the pause is never taken from a paused queue, and every way back
  // to fetching seeks (ResumeAt) or starts a new assignment: free it now. With a hundred lanes,
  // each new assignment's first fetches held tens of MiB here.
  while (rd_kafka_message_t* message = rd_kafka_consume_queue(open->queue, 0)) {
    rd_kafka_message_destroy(message);
  }
  return {};
}

Status Consumer::ResumeAt(int32_t partition, int64_t next) {
  auto open = std::find_if(partition_queues_open_.begin(), partition_queues_open_.end(),
                           [&](const PartitionQueue& q) { return q.partition == partition; });
  if (open == partition_queues_open_.end()) {
    return Error{"partition " + std::to_string(partition) + " has no queue of its own"};
  }
  // Seek before resuming: the fetcher must not go on from where it paused, which may be past
  // `next` while the records in between were read elsewhere.
  ListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition)->offset = next;
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(handle_, list.get(), 5000)) {
    Status status = Error{std::string("seeking failed: ") + rd_kafka_error_string(error)};
    rd_kafka_error_destroy(error);
    return status;
  }
  if (list->elems[0].err) {
    return Error{std::string("seeking failed: ") + rd_kafka_err2str(list->elems[0].err)};
  }
  if (rd_kafka_resp_err_t err = rd_kafka_resume_partitions(handle_, list.get()); err) {
    return Error{std::string("resuming failed: ") + rd_kafka_err2str(err)};
  }
  open->paused = false;
  return {};
}

void Consumer::Resume(int32_t partition) {
  ListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition);
  rd_kafka_resume_partitions(handle_, list.get());
  for (PartitionQueue& open : partition_queues_open_) {
    if (open.partition == partition) {
      open.paused = false;
    }
  }
}

void Consumer::DrainWakeups() {
  char buffer[64];
  while (read(wakeup_read_fd_, buffer, sizeof(buffer)) > 0) {
  }
}

rd_kafka_topic_partition_list_t* Consumer::AssignedList() const {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(assigned_.size()));
  for (int32_t p : assigned_) {
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), p);
  }
  return list;
}

namespace {

ListPtr OffsetList(const std::string& topic, const std::vector<PartitionOffset>& offsets) {
  ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const PartitionOffset& po : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), po.partition)->offset = po.offset;
  }
  return list;
}

}  // namespace

void Consumer::CommitAsync(const std::vector<PartitionOffset>& offsets) {
  if (offsets.empty() || closed_) {
    return;
  }
  ListPtr list = OffsetList(topic_, offsets);
  rd_kafka_commit(handle_, list.get(), 1);
}

Status Consumer::CommitSync(const std::vector<PartitionOffset>& offsets) {
  if (offsets.empty() || closed_) {
    return {};
  }
  ListPtr list = OffsetList(topic_, offsets);
  if (rd_kafka_resp_err_t err = rd_kafka_commit(handle_, list.get(), 0); err) {
    return Error{"committing offsets failed for group " + group_id_ + ": " + rd_kafka_err2str(err)};
  }
  return {};
}

int64_t Consumer::Lag(const std::vector<PartitionOffset>& committable,
                      const std::function<int64_t(int32_t)>& known_high) const {
  int64_t lag = 0;
  for (int32_t p : assigned_) {
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_get_watermark_offsets(handle_, topic_.c_str(), p, &low, &high) != 0) {
      high = -1;
    }
    if (known_high) {
      high = std::max(high, known_high(p));
    }
    if (high < 0) {
      continue;
    }
    int64_t position = low;
    for (const PartitionOffset& po : committable) {
      if (po.partition == p && po.offset >= 0) {
        position = po.offset;
      }
    }
    lag += std::max<int64_t>(0, high - position);
  }
  return lag;
}

Result<std::vector<PartitionOffset>> Consumer::QueryEnds(int timeout_ms) const {
  std::vector<PartitionOffset> ends;
  for (int32_t p : assigned_) {
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(handle_, topic_.c_str(), p, &low, &high, timeout_ms);
        err) {
      return Error{"querying the end of " + topic_ + "/" + std::to_string(p) +
                   " failed: " + rd_kafka_err2str(err)};
    }
    ends.push_back({p, high});
  }
  return ends;
}

Result<std::vector<PartitionOffset>> Consumer::QueryStarts(int timeout_ms) const {
  return CommittedOr(assigned_, /*latest=*/false, /*strict=*/false, timeout_ms);
}

Result<std::vector<PartitionOffset>> Consumer::QueryResumePoints(
    const std::vector<int32_t>& partitions, int timeout_ms) const {
  return CommittedOr(partitions, start_offset_ == config::StartOffset::kLatest, /*strict=*/true,
                     timeout_ms);
}

Result<std::vector<PartitionOffset>> Consumer::CommittedOr(const std::vector<int32_t>& partitions,
                                                           bool latest, bool strict,
                                                           int timeout_ms) const {
  ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t p : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p);
  }
  if (rd_kafka_resp_err_t err = rd_kafka_committed(handle_, list.get(), timeout_ms); err) {
    return Error{"reading committed offsets failed for group " + group_id_ + ": " +
                 rd_kafka_err2str(err)};
  }
  std::vector<PartitionOffset> starts;
  for (int i = 0; i < list->cnt; ++i) {
    if (strict && list->elems[i].err) {
      return Error{"reading committed offsets failed for group " + group_id_ + ": " +
                   rd_kafka_err2str(list->elems[i].err)};
    }
    int64_t offset = list->elems[i].offset;
    if (offset < 0) {
      int64_t low = 0;
      int64_t high = 0;
      if (rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
              handle_, topic_.c_str(), list->elems[i].partition, &low, &high, timeout_ms);
          err) {
        return Error{"querying the start of " + topic_ + " failed: " + rd_kafka_err2str(err)};
      }
      offset = latest ? high : low;
    }
    starts.push_back({list->elems[i].partition, offset});
  }
  return starts;
}

std::vector<PartitionOffset> Consumer::Positions() const {
  ListPtr list(AssignedList());
  rd_kafka_position(handle_, list.get());
  std::vector<PartitionOffset> positions;
  for (int i = 0; i < list->cnt; ++i) {
    positions.push_back({list->elems[i].partition, list->elems[i].offset});
  }
  return positions;
}

void Consumer::Close() {
  if (closed_ || handle_ == nullptr) {
    return;
  }
  closed_ = true;
  // librdkafka before 2.3 aborts the process when a cooperative-sticky consumer is closed after
  // its group chose the assignor but before its first assignment (upstream issue 4312; Debian 12
  // ships 2.0.2). A lane stopped just after it started (a reload, a shutdown) would hit that
  // window, so a consumer not yet assigned first waits for its assignment, a bounded time. With
  // the broker away it never gets that far, and closes after the wait.
  const auto deadline = std::chrono::steady_clock::now() + kFirstAssignmentWait;
  while (subscribed_ && !joined_ && std::chrono::steady_clock::now() < deadline) {
    Poll(100);  // a record it returns is never taken, never committed: read again later
  }
  rd_kafka_consumer_close(handle_);
}

}  // namespace anchor_events::kafka
