// The set of lanes built from one configuration (SPEC §6.1): the business server lane and one
// lane per client with callback URLs. Applying a new configuration adds, removes or replaces
// only the lanes whose settings changed.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "delivery/lane.h"
#include "ops/management_server.h"
#include "ops/metrics.h"
#include "signing/key_holder.h"

namespace anchor_events::delivery {

// Group ids are derived from names only, so editing a client's keys or domains never moves
// its committed offsets (SPEC §6.1).
std::string CallbackApiGroupId(const std::string& prefix);
std::string ClientGroupId(const std::string& prefix, const std::string& client_name);
inline constexpr std::string_view kCallbackApiLane = "callback-api";

// The settings of every lane `config` asks for, by lane name, each with a fingerprint of what
// it was built from (equal fingerprints: the running lane can be kept). Fails when a lane
// cannot be built, for example because of a bad signing seed.
using LanePlan = std::map<std::string, std::pair<std::string, LaneSettings>>;
// `keys` is the holder client lanes sign with; when null a new one is made from the seed.
Result<LanePlan> PlanLanes(const config::Config& config,
                           std::shared_ptr<signing::KeyHolder> keys = nullptr);

// Thread-safe: Apply and Shutdown from one control thread at a time, probes and status from
// server threads.
class Processor {
 public:
  Processor(ops::Metrics* metrics, const Clock* clock);
  ~Processor();

  // Builds lanes for `config` and starts the new or changed ones. Nothing changes when the
  // configuration cannot be turned into lanes (for example a bad signing seed).
  Status Apply(const config::Config& config);
  // Stops every lane: no more fetching, in-flight attempts finish until `deadline`, offsets
  // are committed and groups left. Blocks until all lanes have stopped.
  void Shutdown(std::chrono::steady_clock::time_point deadline);

  int64_t generation() const { return generation_.load(); }
  // Recorded for /status: the outcome of the last configuration load (error empty on success).
  void RecordReload(bool applied, const std::string& error);
  ops::Probe Ready() const;
  ops::Probe Live() const;
  std::string StatusJson() const;

 private:
  struct LaneEntry {
    std::string fingerprint;
    std::unique_ptr<Lane> lane;
  };

  Status EnsureDeadLetterWriter(const config::Config& config);
  Status EnsureFeed(const config::Config& config);

  ops::Metrics* metrics_;
  const Clock* clock_;
  std::shared_ptr<kafka::DeadLetterWriter> dead_letters_;
  // Lanes more than 4,096 records (or 24 MiB of them) apart parse again.
  std::shared_ptr<event::ParseCache> parse_cache_ =
      std::make_shared<event::ParseCache>(4096, 24u << 20);
  // One fetch of the topic for the lanes that keep up; lanes built with an older one keep it
  // until they are replaced (the fingerprint includes the Kafka settings).
  std::shared_ptr<kafka::Feed> feed_;
  std::string feed_fingerprint_;
  std::shared_ptr<signing::KeyHolder> keys_;  // replaced in place on seed rotation
  std::string dead_letter_fingerprint_;
  mutable std::mutex mutex_;
  std::map<std::string, LaneEntry> lanes_;
  std::atomic<int64_t> generation_{0};
  bool last_reload_applied_ = true;
  std::string last_reload_error_;
  std::string clients_revision_;  // of the last configuration applied without error
  int64_t last_reload_at_ms_ = 0;
};

}  // namespace anchor_events::delivery
