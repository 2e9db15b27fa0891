// Every metric the processor exports (SPEC §9), declared in one place. Labels stay
// low-cardinality: lane, outcome, reason, status_class; never an event id or a URL.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace anchor_events::ops {

// Counters and gauges of one lane, resolved once so the hot path does no label lookups.
struct LaneMetrics {
  prometheus::Counter* consumed = nullptr;
  prometheus::Counter* delivered = nullptr;
  prometheus::Counter* rejected = nullptr;
  prometheus::Counter* exhausted = nullptr;
  prometheus::Counter* retries = nullptr;
  prometheus::Gauge* in_flight = nullptr;
  prometheus::Gauge* pending = nullptr;
  prometheus::Gauge* circuit_open = nullptr;
  prometheus::Gauge* lag = nullptr;
  prometheus::Gauge* assigned_partitions = nullptr;
  prometheus::Gauge* shared_partitions = nullptr;
  prometheus::Histogram* request_duration = nullptr;
  prometheus::Histogram* event_age = nullptr;
};

// Thread-safe (prometheus-cpp metrics are atomic; label lookups lock inside the family).
class Metrics {
 public:
  Metrics();

  LaneMetrics ForLane(const std::string& lane);
  // Removes a lane's series when the lane is removed by a reload.
  void RemoveLane(const std::string& lane);

  // The skipped-event and attempt counters of a lane, for a caller that counts often and keeps
  // them: the label lookup takes the family's lock. They live as long as this object.
  prometheus::Counter& Skipped(const std::string& lane, const std::string& reason);
  prometheus::Counter& Attempts(const std::string& lane, const std::string& status_class);
  void CountPoison(const std::string& lane, const std::string& reason);
  void CountDeadLettered(const std::string& lane, const std::string& reason);
  void CountReload(bool ok);
  void SetConfigGeneration(int64_t generation);
  void SetClientsRevision(int64_t revision);

  // Prometheus text exposition format.
  std::string Serialize() const;
  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& deliveries_;
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Counter>& poison_;
  prometheus::Family<prometheus::Counter>& dead_lettered_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Gauge>& pending_;
  prometheus::Family<prometheus::Gauge>& circuit_open_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& assigned_;
  prometheus::Family<prometheus::Gauge>& shared_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Histogram>& event_age_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Gauge>& generation_;
  prometheus::Family<prometheus::Gauge>& clients_revision_;
};

}  // namespace anchor_events::ops
