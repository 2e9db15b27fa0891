#include "delivery/processor.h"

#include <algorithm>
#include <optional>
#include <sstream>

#include "event/routing.h"
#include "ops/log.h"
#include "signing/signer.h"

namespace anchor_events::delivery {
namespace {

constexpr std::chrono::seconds kStalledLoop{30};
// librdkafka prefetch of all lanes together, and each lane's bounds. A lane reads ahead at most
// 16 x max_in_flight records anyway, so a few hundred KiB per lane loses no throughput.
constexpr int kPrefetchBudgetKbytes = 32 * 1024;
constexpr int kLanePrefetchMinKbytes = 256;
constexpr int kLanePrefetchMaxKbytes = 4096;

kafka::ConsumerOptions ConsumerFor(const config::Config& config, std::string group_id) {
  kafka::ConsumerOptions options;
  options.kafka = config.kafka;
  options.group_id = std::move(group_id);
  options.topic = config.kafka.topic;
  options.start_offset = config.new_lane_offset;
  if (!config.group_instance_id.empty()) {
    // One instance id per lane: every lane is a member of its own group.
    options.group_instance_id = config.group_instance_id + "-" + options.group_id;
  }
  return options;
}

SenderOptions SenderFor(const config::Config& config) {
  SenderOptions options;
  options.resolve = config.resolve;
  return options;
}

// Everything a lane is built from, as text: equal fingerprints mean the lane can be kept.
std::string Fingerprint(const config::Config& config, const std::string& lane_part) {
  std::ostringstream out;
  const config::KafkaConfig& k = config.kafka;
  out << k.bootstrap_server << '|' << k.client_id << '|' << k.topic << '|' << k.security_protocol
      << '|' << k.sasl_mechanism << '|' << k.sasl_username << '|' << k.sasl_password << '|'
      << k.ssl_ca_location << '|' << k.ssl_certificate_location << '|' << k.ssl_key_location << '|'
      << config.consumer_group_prefix << '|' << config.group_instance_id << '|'
      << static_cast<int>(config.new_lane_offset) << '|' << config.allow_private_destinations << '|'
      << config.max_event_bytes;
  for (const auto& [name, value] : k.properties) out << '|' << name << '=' << value;
  for (const std::string& pin : config.resolve) out << '|' << pin;
  out << "||" << lane_part;
  return out.str();
}

std::string ClientPart(const config::ClientConfig& c) {
  std::ostringstream out;
  out << c.name << '|' << static_cast<int>(c.type) << '|' << c.callback_urls.sep6 << '|'
      << c.callback_urls.sep24 << '|' << c.callback_urls.sep31 << '|' << c.callback_urls.sep12
      << '|' << c.lane.retry.max_attempts << '|' << c.lane.retry.initial_backoff.count() << '|'
      << c.lane.retry.max_backoff.count() << '|' << c.lane.max_in_flight << '|'
      << c.lane.request_timeout.count() << '|' << c.standard_webhooks << '|' << c.ca_file << '|'
      << c.client_cert_file << '|' << c.client_key_file << '|' << c.webhook_secret << '|'
      << c.webhook_secret_previous;
  for (const auto& d : c.domains) out << "|d:" << d;
  for (const auto& k : c.signing_keys) out << "|k:" << k;
  for (const auto& n : c.allowed_networks) out << "|n:" << n;
  return out.str();
}

std::string CallbackApiPart(const config::CallbackApiConfig& c) {
  std::ostringstream out;
  out << c.base_url << '|' << static_cast<int>(c.auth_type) << '|' << c.secret << '|'
      << c.api_key_http_header << '|' << c.jwt_http_header << '|' << c.jwt_expiration_ms << '|'
      << c.check_certificate << '|' << c.ca_file << '|' << c.client_cert_file << '|'
      << c.client_key_file << '|' << c.ssrf_guard << '|' << c.lane.retry.max_attempts << '|'
      << c.lane.retry.initial_backoff.count() << '|' << c.lane.retry.max_backoff.count() << '|'
      << c.lane.max_in_flight << '|' << c.lane.request_timeout.count();
  return out.str();
}

Result<std::shared_ptr<const AddressGuard>> GuardFor(bool allow_private,
                                                     const std::vector<std::string>& networks) {
  std::vector<Cidr> allowed;
  for (const std::string& network : networks) {
    Result<Cidr> cidr = ParseCidr(network);
    if (!cidr.ok()) {
      return cidr.error();
    }
    allowed.push_back(*cidr);
  }
  return std::make_shared<const AddressGuard>(allow_private, std::move(allowed));
}

void AppendString(std::ostringstream& out, std::string_view text) {
  std::string escaped;
  ops::AppendJsonEscaped(&escaped, text);
  out << '"' << escaped << '"';
}

}  // namespace

std::string CallbackApiGroupId(const std::string& prefix) { return prefix + "-callback-api"; }

std::string ClientGroupId(const std::string& prefix, const std::string& client_name) {
  return prefix + "-client-" + client_name;
}

Processor::Processor(ops::Metrics* metrics, const Clock* clock)
    : metrics_(metrics), clock_(clock) {}

Processor::~Processor() { Shutdown(clock_->Now()); }

// Divides the prefetch budget among the planned lanes. Kept lanes keep the share they started
// with, so the bound is approximate across reloads.
void SharePrefetch(LanePlan& lanes) {
  const int share = kPrefetchBudgetKbytes / static_cast<int>(std::max<size_t>(1, lanes.size()));
  for (auto& [name, planned] : lanes) {
    planned.second.consumer.prefetch_kbytes =
        std::clamp(share, kLanePrefetchMinKbytes, kLanePrefetchMaxKbytes);
  }
}

Result<LanePlan> PlanLanes(const config::Config& config, std::shared_ptr<signing::KeyHolder> keys) {
  std::map<std::string, std::pair<std::string, LaneSettings>> lanes;
  if (config.callback_api.enabled) {
    const config::CallbackApiConfig& api = config.callback_api;
    LaneSettings s;
    s.name = std::string(kCallbackApiLane);
    s.options = api.lane;
    s.destination = std::make_shared<const BusinessDestination>(api);
    if (api.ssrf_guard) {
      Result<std::shared_ptr<const AddressGuard>> guard =
          GuardFor(config.allow_private_destinations, {});
      s.guard = *guard;
    }
    s.ca_file = api.ca_file;
    s.client_cert_file = api.client_cert_file;
    s.client_key_file = api.client_key_file;
    s.verify_tls = api.check_certificate;
    s.consumer = ConsumerFor(config, CallbackApiGroupId(config.consumer_group_prefix));
    s.sender = SenderFor(config);
    s.max_event_bytes = config.max_event_bytes;
    lanes.emplace(s.name, std::make_pair(Fingerprint(config, CallbackApiPart(api)), s));
  }
  if (!config.client_callbacks_enabled) {
    SharePrefetch(lanes);
    return lanes;
  }
  if (!keys) {
    Result<signing::SigningKey> key = signing::SigningKey::FromSeed(config.signing_seed);
    if (!key.ok()) {
      return Error{"loading the SEP-10 signing seed failed: " + key.error().message};
    }
    keys = std::make_shared<signing::KeyHolder>(std::move(key).value());
  }
  for (const config::ClientConfig& client : config.clients) {
    if (!client.callback_urls.Any()) {
      continue;
    }
    Result<std::shared_ptr<const AddressGuard>> guard =
        GuardFor(config.allow_private_destinations, client.allowed_networks);
    if (!guard.ok()) {
      return Error{"building the lane failed for client " + client.name + ": " +
                   guard.error().message};
    }
    LaneSettings s;
    s.name = client.name;
    s.options = client.lane;
    s.destination = std::make_shared<const ClientDestination>(client, keys);
    s.guard = *guard;
    s.ca_file = client.ca_file;
    s.client_cert_file = client.client_cert_file;
    s.client_key_file = client.client_key_file;
    s.consumer = ConsumerFor(config, ClientGroupId(config.consumer_group_prefix, client.name));
    s.sender = SenderFor(config);
    s.max_event_bytes = config.max_event_bytes;
    s.audience = event::AudienceTags(client);
    lanes.emplace(client.name, std::make_pair(Fingerprint(config, ClientPart(client)), s));
  }
  SharePrefetch(lanes);
  return lanes;
}

Status Processor::EnsureDeadLetterWriter(const config::Config& config) {
  std::string fingerprint = Fingerprint(config, config.kafka.dead_letter_topic);
  if (dead_letters_ && fingerprint == dead_letter_fingerprint_) {
    return {};
  }
  Result<std::unique_ptr<kafka::DeadLetterWriter>> writer =
      kafka::DeadLetterWriter::Create(config.kafka);
  if (!writer.ok()) {
    return writer.error();
  }
  dead_letters_ = std::move(writer).value();
  dead_letter_fingerprint_ = fingerprint;
  return {};
}

Status Processor::EnsureFeed(const config::Config& config) {
  std::string fingerprint = Fingerprint(config, "feed");
  if (feed_ && fingerprint == feed_fingerprint_) {
    return {};
  }
  kafka::FeedOptions options;
  options.kafka = config.kafka;
  options.topic = config.kafka.topic;
  // The feed parses a live record before it wakes any lane, so the lanes find that parse in
  // the cache (records up to ParseCache::kMaxCachedRecord).
  options.tag = [cache = parse_cache_, max_bytes = static_cast<size_t>(config.max_event_bytes)](
                    const std::shared_ptr<const kafka::Record>& record) {
    std::shared_ptr<const event::ParseResult> parsed =
        cache->Parse(record->partition, record->offset,
                     std::shared_ptr<const std::string>(record, &record->value), max_bytes);
    const auto* parsed_event = std::get_if<event::Event>(parsed.get());
    return parsed_event ? event::AudienceTag(*parsed_event) : kafka::Feed::kEveryone;
  };
  Result<std::shared_ptr<kafka::Feed>> feed = kafka::Feed::Create(options);
  if (!feed.ok()) {
    return feed.error();
  }
  feed_ = std::move(feed).value();
  feed_fingerprint_ = fingerprint;
  return {};
}

Status Processor::Apply(const config::Config& config) {
  // The seed is checked before anything changes; a rotated key is put into the holder the lanes
  // already share only once the rest of the configuration has been applied, so no lane restarts
  // for a rotation and a failed reload leaves the old key in place.
  std::optional<signing::SigningKey> next_key;
  if (config.client_callbacks_enabled) {
    Result<signing::SigningKey> key = signing::SigningKey::FromSeed(config.signing_seed);
    if (!key.ok()) {
      return Error{"loading the SEP-10 signing seed failed: " + key.error().message};
    }
    next_key = std::move(key).value();
  }
  std::optional<signing::SigningKey> previous_key;
  if (config.client_callbacks_enabled && !config.signing_seed_previous.empty()) {
    Result<signing::SigningKey> key = signing::SigningKey::FromSeed(config.signing_seed_previous);
    if (!key.ok()) {
      return Error{"loading the previous SEP-10 signing seed failed: " + key.error().message};
    }
    previous_key = std::move(key).value();
  }
  std::shared_ptr<signing::KeyHolder> keys = keys_;
  if (!keys && next_key) {
    keys = std::make_shared<signing::KeyHolder>(*next_key);
    keys->SetPrevious(previous_key);
  }
  auto built = PlanLanes(config, keys);
  if (!built.ok()) {
    return built.error();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (Status status = EnsureDeadLetterWriter(config); !status.ok()) {
    return status;
  }
  if (Status status = EnsureFeed(config); !status.ok()) {
    return status;
  }
  // Lanes built with an older writer keep theirs until they are replaced; the fingerprint
  // includes the Kafka settings, so a new writer always comes with new lanes.
  // Poison is dead-lettered once: by the business server's lane, or else the first client's.
  std::string poison_owner;
  if (!built->empty()) {
    poison_owner = built->count(std::string(kCallbackApiLane)) ? std::string(kCallbackApiLane)
                                                               : built->begin()->first;
  }
  for (auto& [name, entry] : *built) {
    entry.second.dead_letters = dead_letters_;
    entry.second.parse_cache = parse_cache_;
    entry.second.feed = feed_;
    entry.second.dead_letter_poison = name == poison_owner;
    entry.first += entry.second.dead_letter_poison ? "|poison" : "";
  }
  auto grace = clock_->Now() + config.shutdown_grace;
  std::vector<std::pair<std::string, std::unique_ptr<Lane>>> retired;
  for (auto it = lanes_.begin(); it != lanes_.end();) {
    auto next = built->find(it->first);
    if (next == built->end() || next->second.first != it->second.fingerprint) {
      it->second.lane->Stop(grace);
      retired.emplace_back(it->first, std::move(it->second.lane));
      it = lanes_.erase(it);
    } else {
      ++it;
    }
  }
  // A replaced lane must leave its group before its successor joins, or both would own the
  // partitions at once. Its metrics go only after it stopped writing them.
  lock.unlock();
  for (auto& [name, lane] : retired) {
    lane->Join();
    metrics_->RemoveLane(name);
  }
  lock.lock();
  Status result;
  for (auto& [name, entry] : *built) {
    if (lanes_.count(name)) {
      continue;
    }
    auto lane = std::make_unique<Lane>(entry.second, metrics_, clock_);
    if (Status status = lane->Start(); !status.ok()) {
      result = Error{"starting the lane failed for " + name + ": " + status.error().message};
      continue;
    }
    lanes_.emplace(name, LaneEntry{entry.first, std::move(lane)});
  }
  if (!keys_) {
    keys_ = keys;
  } else if (next_key && keys_->Current()->AccountId() != next_key->AccountId()) {
    keys_->Replace(*next_key);
    ops::Log().Info("signing key rotated", {{"account", next_key->AccountId()}});
  }
  if (keys_) {
    keys_->SetPrevious(previous_key);
  }
  generation_.fetch_add(1);
  metrics_->SetConfigGeneration(generation_.load());
  if (result.ok()) {
    clients_revision_ = config.clients_revision;
    metrics_->SetClientsRevision(
        clients_revision_.empty() ? 0 : std::stoll(clients_revision_));  // validated digits
  }
  return result;
}

void Processor::Shutdown(std::chrono::steady_clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [name, entry] : lanes_) {
    entry.lane->Stop(deadline);
  }
  for (auto& [name, entry] : lanes_) {
    entry.lane->Join();
  }
  lanes_.clear();
}

ops::Probe Processor::Ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (generation_.load() == 0) {
    return {false, "configuration not applied"};
  }
  for (const auto& [name, entry] : lanes_) {
    LaneStatus status = entry.lane->Snapshot();
    if (!status.running || !status.joined) {
      return {false, "lane " + name + " has not joined its consumer group" +
                         (status.last_error.empty() ? "" : " (" + status.last_error + ")")};
    }
  }
  return {true, std::to_string(lanes_.size()) + " lanes"};
}

ops::Probe Processor::Live() const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto now = clock_->Now();
  for (const auto& [name, entry] : lanes_) {
    LaneStatus status = entry.lane->Snapshot();
    if (status.running && now - status.last_tick > kStalledLoop) {
      return {false, "lane " + name + " event loop stalled"};
    }
  }
  return {true, ""};
}

void Processor::RecordReload(bool applied, const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_reload_applied_ = applied;
  last_reload_error_ = error;
  last_reload_at_ms_ =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->WallNow().time_since_epoch())
          .count();
}

std::string Processor::StatusJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "{\"generation\":" << generation_.load() << ",\"last_reload\":{\"result\":\""
      << (last_reload_applied_ ? "applied" : "failed") << "\",\"at_ms\":" << last_reload_at_ms_
      << ",\"error\":";
  AppendString(out, last_reload_error_);
  out << "},\"clients_revision\":";
  AppendString(out, clients_revision_);
  out << ",\"lanes\":[";
  bool first = true;
  for (const auto& [name, entry] : lanes_) {
    LaneStatus s = entry.lane->Snapshot();
    out << (first ? "" : ",") << "{\"name\":";
    first = false;
    AppendString(out, s.name);
    out << ",\"group_id\":";
    AppendString(out, s.group_id);
    out << ",\"running\":" << (s.running ? "true" : "false")
        << ",\"joined\":" << (s.joined ? "true" : "false")
        << ",\"paused\":" << (s.paused ? "true" : "false") << ",\"circuit\":\"" << s.circuit
        << "\"";
    if (!s.last_error.empty()) {
      out << ",\"last_error\":";
      AppendString(out, s.last_error);
    }
    out << ",\"partitions\":[";
    for (size_t i = 0; i < s.partitions.size(); ++i) {
      out << (i ? "," : "") << s.partitions[i];
    }
    out << "],\"shared_partitions\":[";
    for (size_t i = 0; i < s.shared_partitions.size(); ++i) {
      out << (i ? "," : "") << s.shared_partitions[i];
    }
    out << "],\"in_flight\":" << s.in_flight << ",\"pending\":" << s.pending
        << ",\"window\":" << s.window << ",\"waiting_retry\":" << s.waiting_retry
        << ",\"dead_lettering\":" << s.dead_lettering << ",\"lag\":" << s.lag
        << ",\"started_at_ms\":" << s.started_at_ms << "}";
  }
  out << "]}";
  return out.str();
}

}  // namespace anchor_events::delivery
