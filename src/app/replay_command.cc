// `anchor-events replay`: re-delivers the dead-lettered events of one lane (SPEC §6.4) through
// the lane's own destination, so signing and authentication are exactly those of live traffic.
// Progress is committed to the consumer group <prefix>-replay-<lane> when a run completes, so
// a second run does not repeat the first.
#include <algorithm>
#include <cstdio>
#include <map>
#include <thread>
#include <tuple>

#include "app/args.h"
#include "app/commands.h"
#include "app/config_source.h"
#include "delivery/processor.h"
#include "event/body.h"
#include "kafka/consumer.h"
#include "kafka/dead_letter_writer.h"
#include "ops/log.h"

namespace anchor_events::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kJoinTimeoutSeconds = 60;

struct ReplayOptions {
  std::string lane;
  std::optional<int64_t> since_ms;  // record timestamp (dead-lettered at), inclusive
  std::optional<int64_t> until_ms;  // exclusive
  bool dry_run = false;
  double rate = 0;  // deliveries per second, 0: unlimited
};

struct ReplayCounts {
  int replayed = 0;
  int would_replay = 0;
  int other_lane = 0;
  int outside_window = 0;
  int not_deliverable = 0;
};

class NoRebalanceHandling : public kafka::RebalanceListener {
 public:
  void OnAssigned(const std::vector<int32_t>&) override {}
  void OnRevoked(const std::vector<int32_t>&, bool) override {}
};

// Unix seconds or an ISO-8601 UTC time ("2026-12-04T10:00:00Z"), in milliseconds.
std::optional<int64_t> ParseTime(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoll(text) * 1000;
  }
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr || (*end != 'Z' && *end != '\0')) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string HeaderValue(const kafka::Record& record, const char* name) {
  for (const auto& [key, value] : record.headers) {
    if (key == name) return value;
  }
  return "";
}

// One delivery with the lane's retry policy; false when every attempt failed.
bool DeliverOnce(const delivery::LaneSettings& lane, const delivery::Prepared& prepared,
                 delivery::HttpSender& sender, std::string* error) {
  delivery::Backoff backoff(lane.options.retry);
  for (int attempt = 1;; ++attempt) {
    delivery::HttpRequest request;
    request.url = prepared.url;
    request.headers = lane.destination->AttemptHeaders(prepared, std::chrono::system_clock::now());
    request.body = std::make_shared<const std::string>(prepared.body);
    request.timeout = lane.options.request_timeout;
    request.guard = lane.guard;
    request.ca_file = lane.ca_file;
    request.verify_tls = lane.verify_tls;
    sender.Start(1, std::move(request));
    std::vector<std::pair<uint64_t, delivery::HttpResponse>> done;
    while (done.empty()) {
      sender.Wait(milliseconds(100), -1);
      done = sender.TakeCompleted();
    }
    const delivery::HttpResponse& response = done.front().second;
    if (response.result == delivery::AttemptResult::kDelivered) {
      return true;
    }
    *error = response.error;
    if (response.result == delivery::AttemptResult::kRejected || !backoff.MayRetry(attempt)) {
      return false;
    }
    std::this_thread::sleep_for(backoff.Delay(attempt, response.retry_after));
  }
}

// One dead letter of the lane, with where it came from.
struct Letter {
  std::string source_topic;
  int64_t source_partition = 0;
  int64_t source_offset = 0;
  std::string event_id;
  std::string reason;
  kafka::Record record;
};

int64_t HeaderNumber(const kafka::Record& record, const char* name) {
  std::string text = HeaderValue(record, name);
  return text.empty() || text.find_first_not_of("-0123456789") != std::string::npos
             ? -1
             : std::stoll(text);
}

class Replayer {
 public:
  Replayer(const config::Config& config, delivery::LaneSettings lane, ReplayOptions options)
      : config_(config),
        lane_(std::move(lane)),
        options_(std::move(options)),
        sender_(lane_.sender) {}

  int Run();

 private:
  Status Join(const std::string& group);
  Status Collect();
  void Select(kafka::Record record);
  bool Deliver(const Letter& letter);
  void Pace();

  const config::Config& config_;
  delivery::LaneSettings lane_;
  ReplayOptions options_;
  delivery::HttpSender sender_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::vector<kafka::PartitionOffset> ends_;
  std::map<int32_t, int64_t> next_offset_;  // per dead-letter partition: the next to read
  std::vector<Letter> letters_;
  ReplayCounts counts_;
  steady_clock::time_point next_send_ = steady_clock::now();
};

void Replayer::Pace() {
  if (options_.rate <= 0) {
    return;
  }
  std::this_thread::sleep_until(next_send_);
  next_send_ = std::max(next_send_, steady_clock::now()) +
               std::chrono::duration_cast<steady_clock::duration>(
                   std::chrono::duration<double>(1.0 / options_.rate));
}

Status Replayer::Join(const std::string& group) {
  static NoRebalanceHandling listener;
  kafka::ConsumerOptions options;
  options.kafka = config_.kafka;
  options.group_id = group;
  options.topic = config_.kafka.dead_letter_topic;
  options.start_offset = config::StartOffset::kEarliest;
  auto consumer = kafka::Consumer::Create(options, &listener);
  if (!consumer.ok()) {
    return consumer.error();
  }
  consumer_ = std::move(consumer).value();
  auto deadline = steady_clock::now() + std::chrono::seconds(kJoinTimeoutSeconds);
  while (!consumer_->joined() && steady_clock::now() < deadline) {
    if (std::optional<kafka::Record> record = consumer_->Poll(100)) {
      Select(std::move(*record));
    }
  }
  if (!consumer_->joined()) {
    return Error{"joining consumer group " + group + " failed for topic " + options.topic +
                 (consumer_->last_error().empty() ? "" : ": " + consumer_->last_error())};
  }
  return {};
}

// Reads the dead-letter topic from the group's committed offsets up to its end as it was when
// the run started, keeping the lane's letters.
Status Replayer::Collect() {
  Result<std::vector<kafka::PartitionOffset>> ends = consumer_->QueryEnds(10000);
  Result<std::vector<kafka::PartitionOffset>> starts = consumer_->QueryStarts(10000);
  if (!ends.ok() || !starts.ok()) {
    return ends.ok() ? starts.error() : ends.error();
  }
  ends_ = *ends;
  for (const kafka::PartitionOffset& start : *starts) {
    next_offset_.emplace(start.partition, start.offset);  // keeps what Join already read
  }
  auto done = [&] {
    for (const kafka::PartitionOffset& end : ends_) {
      if (next_offset_[end.partition] < end.offset) return false;
    }
    return true;
  };
  auto quiet_since = steady_clock::now();
  while (!done()) {
    std::optional<kafka::Record> record = consumer_->Poll(200);
    if (!record) {
      if (steady_clock::now() - quiet_since > std::chrono::seconds(30)) {
        return Error{"reading the dead-letter topic stalled before its end"};
      }
      continue;
    }
    quiet_since = steady_clock::now();
    Select(std::move(*record));
  }
  return {};
}

void Replayer::Select(kafka::Record record) {
  namespace h = kafka::dead_letter_header;
  next_offset_[record.partition] = record.offset + 1;
  if (HeaderValue(record, h::kLane) != options_.lane) {
    ++counts_.other_lane;
    return;
  }
  if ((options_.since_ms && record.timestamp_ms < *options_.since_ms) ||
      (options_.until_ms && record.timestamp_ms >= *options_.until_ms)) {
    ++counts_.outside_window;
    return;
  }
  Letter letter;
  letter.source_topic = HeaderValue(record, h::kSourceTopic);
  letter.source_partition = HeaderNumber(record, h::kSourcePartition);
  letter.source_offset = HeaderNumber(record, h::kSourceOffset);
  letter.event_id = HeaderValue(record, h::kEventId);
  letter.reason = HeaderValue(record, h::kReason);
  letter.record = std::move(record);
  letters_.push_back(std::move(letter));
}

bool Replayer::Deliver(const Letter& letter) {
  std::string where =
      std::to_string(letter.source_partition) + "/" + std::to_string(letter.source_offset);
  event::ParseResult parsed = event::ParseEvent(letter.record.value, config_.max_event_bytes);
  const auto* ev = std::get_if<event::Event>(&parsed);
  auto prepared =
      ev ? lane_.destination->Prepare(*ev, std::chrono::system_clock::now())
         : std::variant<delivery::Prepared, event::SkipReason>(event::SkipReason::kUnattributed);
  if (ev == nullptr || std::holds_alternative<event::SkipReason>(prepared)) {
    ++counts_.not_deliverable;
    std::printf("skip     %-10s %s (%s)\n", where.c_str(), letter.event_id.c_str(),
                ev == nullptr ? "not a deliverable event" : "not for this lane");
    return true;
  }
  const delivery::Prepared& ready = std::get<delivery::Prepared>(prepared);
  if (options_.dry_run) {
    ++counts_.would_replay;
    std::printf("would    %-10s %s %s (dead-lettered: %s)\n", where.c_str(), ready.event_id.c_str(),
                ready.event_type.c_str(), letter.reason.c_str());
    return true;
  }
  Pace();
  std::string error;
  if (!DeliverOnce(lane_, ready, sender_, &error)) {
    std::printf("FAILED   %-10s %s: %s\n", where.c_str(), ready.event_id.c_str(), error.c_str());
    return false;
  }
  ++counts_.replayed;
  std::printf("replayed %-10s %s %s\n", where.c_str(), ready.event_id.c_str(),
              ready.event_type.c_str());
  std::fflush(stdout);
  return true;
}

int Replayer::Run() {
  std::string group = config_.consumer_group_prefix + "-replay-" + options_.lane;
  Status status = Join(group);
  if (status.ok()) {
    status = Collect();
  }
  if (!status.ok()) {
    std::fprintf(stderr, "replay: %s\n", status.error().message.c_str());
    consumer_.reset();
    return kExitFailed;
  }
  // Source order, once each: letters of one transaction may sit in different dead-letter
  // partitions, and an event can be dead-lettered twice (at-least-once).
  std::sort(letters_.begin(), letters_.end(), [](const Letter& a, const Letter& b) {
    return std::tie(a.source_topic, a.source_partition, a.source_offset) <
           std::tie(b.source_topic, b.source_partition, b.source_offset);
  });
  letters_.erase(std::unique(letters_.begin(), letters_.end(),
                             [](const Letter& a, const Letter& b) {
                               return a.source_topic == b.source_topic &&
                                      a.source_partition == b.source_partition &&
                                      a.source_offset == b.source_offset;
                             }),
                 letters_.end());
  int code = kExitOk;
  for (const Letter& letter : letters_) {
    if (!Deliver(letter)) {
      code = kExitFailed;
      break;
    }
  }
  if (code == kExitOk && !options_.dry_run) {
    // Progress is recorded only for a complete run: a run that stopped sends everything again
    // next time (at least once), never skips.
    if (Status committed = consumer_->CommitSync(ends_); !committed.ok()) {
      std::fprintf(stderr, "replay: %s\n", committed.error().message.c_str());
      code = kExitFailed;
    }
  }
  consumer_->Close();
  std::printf(
      "%s: %d replayed, %d would be replayed, %d of other lanes, %d outside the time "
      "window, %d not deliverable\n",
      code == kExitOk ? "done" : "stopped", counts_.replayed, counts_.would_replay,
      counts_.other_lane, counts_.outside_window, counts_.not_deliverable);
  return code;
}

Result<ReplayOptions> ParseReplayOptions(const Args& args) {
  ReplayOptions options;
  options.lane = args.Get("lane").value_or("");
  if (options.lane.empty()) {
    return Error{"--lane is required (callback-api or a client name)"};
  }
  for (const char* name : {"since", "until"}) {
    if (auto text = args.Get(name)) {
      std::optional<int64_t> when = ParseTime(*text);
      if (!when)
        return Error{std::string("--") + name + " takes unix seconds or YYYY-MM-DDTHH:MM:SSZ"};
      (std::string(name) == "since" ? options.since_ms : options.until_ms) = when;
    }
  }
  if (auto rate = args.Get("rate")) {
    char* end = nullptr;
    options.rate = std::strtod(rate->c_str(), &end);
    if (end == rate->c_str() || *end != '\0' || options.rate <= 0) {
      return Error{"--rate takes a positive number of events per second"};
    }
  }
  options.dry_run = args.Has("dry-run");
  return options;
}

}  // namespace

int ReplayCommand(const Argv& argv) {
  Result<Args> args = Args::Parse(argv, {"config", "lane", "since", "until", "rate"}, {"dry-run"});
  Result<ReplayOptions> options =
      args.ok() ? ParseReplayOptions(*args) : Result<ReplayOptions>(args.error());
  if (!options.ok()) {
    std::fprintf(stderr, "anchor-events replay: %s\n", options.error().message.c_str());
    return kExitUsage;
  }
  ops::SetLogLevel(ops::LogLevel::kWarn);
  std::optional<config::LoadedConfig> loaded = LoadConfigOrReport(*args);
  if (!loaded) {
    return kExitBadConfig;
  }
  Result<delivery::LanePlan> plan = delivery::PlanLanes(loaded->config);
  if (!plan.ok()) {
    std::fprintf(stderr, "anchor-events replay: %s\n", plan.error().message.c_str());
    return kExitBadConfig;
  }
  auto lane = plan->find(options->lane);
  if (lane == plan->end()) {
    std::fprintf(stderr, "anchor-events replay: no lane named %s in this configuration\n",
                 options->lane.c_str());
    return kExitUsage;
  }
  Replayer replayer(loaded->config, lane->second.second, *options);
  return replayer.Run();
}

}  // namespace anchor_events::app
