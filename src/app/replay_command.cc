// `anchor-events replay`: re-delivers the dead-lettered events of one lane (SPEC §6.4) through
// the lane's own destination, so signing and authentication are exactly those of live traffic.
// Progress is committed to the consumer group <prefix>-replay-<lane>, so a second run continues
// where the first stopped.
#include <cstdio>
#include <thread>

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
bool Deliver(const delivery::LaneSettings& lane, const delivery::Prepared& prepared,
             delivery::HttpSender& sender, std::string* error) {
  delivery::Backoff backoff(lane.options.retry);
  for (int attempt = 1;; ++attempt) {
    delivery::HttpRequest request;
    request.url = prepared.url;
    request.headers = lane.destination->AttemptHeaders(prepared, std::chrono::system_clock::now());
    request.body = prepared.body;
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

class Replayer {
 public:
  Replayer(const config::Config& config, delivery::LaneSettings lane, ReplayOptions options)
      : config_(config),
        lane_(std::move(lane)),
        options_(std::move(options)),
        sender_(lane_.sender) {}

  int Run();

 private:
  bool Handle(const kafka::Record& record);
  bool CaughtUp(const std::vector<kafka::PartitionOffset>& ends) const;
  void Pace();

  const config::Config& config_;
  delivery::LaneSettings lane_;
  ReplayOptions options_;
  delivery::HttpSender sender_;
  std::unique_ptr<kafka::Consumer> consumer_;
  ReplayCounts counts_;
  steady_clock::time_point next_send_ = steady_clock::now();
};

bool Replayer::CaughtUp(const std::vector<kafka::PartitionOffset>& ends) const {
  for (const kafka::PartitionOffset& position : consumer_->Positions()) {
    for (const kafka::PartitionOffset& end : ends) {
      if (end.partition == position.partition && end.offset > 0 &&
          (position.offset < 0 || position.offset < end.offset)) {
        return false;
      }
    }
  }
  return true;
}

void Replayer::Pace() {
  if (options_.rate <= 0) {
    return;
  }
  std::this_thread::sleep_until(next_send_);
  next_send_ = std::max(next_send_, steady_clock::now()) +
               std::chrono::duration_cast<steady_clock::duration>(
                   std::chrono::duration<double>(1.0 / options_.rate));
}

// False when the event could not be delivered: the run stops there, progress kept before it.
bool Replayer::Handle(const kafka::Record& record) {
  namespace h = kafka::dead_letter_header;
  if (HeaderValue(record, h::kLane) != options_.lane) {
    ++counts_.other_lane;
    return true;
  }
  if ((options_.since_ms && record.timestamp_ms < *options_.since_ms) ||
      (options_.until_ms && record.timestamp_ms >= *options_.until_ms)) {
    ++counts_.outside_window;
    return true;
  }
  std::string where = std::to_string(record.partition) + "/" + std::to_string(record.offset);
  event::ParseResult parsed = event::ParseEvent(record.value, config_.max_event_bytes);
  const auto* ev = std::get_if<event::Event>(&parsed);
  auto prepared =
      ev ? lane_.destination->Prepare(*ev, std::chrono::system_clock::now())
         : std::variant<delivery::Prepared, event::SkipReason>(event::SkipReason::kUnattributed);
  if (ev == nullptr || std::holds_alternative<event::SkipReason>(prepared)) {
    ++counts_.not_deliverable;
    std::printf("skip     %-8s %s (%s)\n", where.c_str(), HeaderValue(record, h::kEventId).c_str(),
                ev == nullptr ? "not a deliverable event" : "not for this lane");
    return true;
  }
  const delivery::Prepared& ready = std::get<delivery::Prepared>(prepared);
  if (options_.dry_run) {
    ++counts_.would_replay;
    std::printf("would    %-8s %s %s (dead-lettered: %s)\n", where.c_str(), ready.event_id.c_str(),
                ready.event_type.c_str(), HeaderValue(record, h::kReason).c_str());
    return true;
  }
  Pace();
  std::string error;
  if (!Deliver(lane_, ready, sender_, &error)) {
    std::printf("FAILED   %-8s %s: %s\n", where.c_str(), ready.event_id.c_str(), error.c_str());
    return false;
  }
  ++counts_.replayed;
  std::printf("replayed %-8s %s %s\n", where.c_str(), ready.event_id.c_str(),
              ready.event_type.c_str());
  std::fflush(stdout);
  return true;
}

int Replayer::Run() {
  NoRebalanceHandling listener;
  kafka::ConsumerOptions options;
  options.kafka = config_.kafka;
  options.group_id = config_.consumer_group_prefix + "-replay-" + options_.lane;
  options.topic = config_.kafka.dead_letter_topic;
  options.start_offset = config::StartOffset::kEarliest;
  auto consumer = kafka::Consumer::Create(options, &listener);
  if (!consumer.ok()) {
    std::fprintf(stderr, "replay: %s\n", consumer.error().message.c_str());
    return kExitFailed;
  }
  consumer_ = std::move(consumer).value();
  auto deadline = steady_clock::now() + std::chrono::seconds(kJoinTimeoutSeconds);
  std::optional<kafka::Record> first;
  while (!consumer_->joined() && steady_clock::now() < deadline) {
    first = consumer_->Poll(100);
    if (first) break;
  }
  auto ends = consumer_->QueryEnds(10000);
  if (!consumer_->joined() || !ends.ok()) {
    std::fprintf(stderr, "replay: could not join consumer group %s on topic %s\n",
                 options.group_id.c_str(), options.topic.c_str());
    return kExitFailed;
  }
  int code = kExitOk;
  for (std::optional<kafka::Record> record = std::move(first);; record = consumer_->Poll(200)) {
    if (record) {
      if (!Handle(*record)) {
        code = kExitFailed;
        break;
      }
      if (!options_.dry_run) {
        consumer_->CommitSync({{record->partition, record->offset + 1}}).ok();
      }
    } else if (CaughtUp(*ends)) {
      break;
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
