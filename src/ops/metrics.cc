#include "ops/metrics.h"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace anchor_events::ops {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& AgeBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
  return buckets;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      consumed_(BuildCounter()
                    .Name("anchor_events_events_consumed_total")
                    .Help("Kafka records read by a lane.")
                    .Register(*registry_)),
      deliveries_(BuildCounter()
                      .Name("anchor_events_deliveries_total")
                      .Help("Events finished by a lane, by outcome "
                            "(delivered, rejected, exhausted).")
                      .Register(*registry_)),
      attempts_(BuildCounter()
                    .Name("anchor_events_attempts_total")
                    .Help("HTTP attempts, by response status class (2xx..5xx, error, blocked).")
                    .Register(*registry_)),
      retries_(BuildCounter()
                   .Name("anchor_events_retries_total")
                   .Help("Attempts scheduled again after a transient failure.")
                   .Register(*registry_)),
      skipped_(BuildCounter()
                   .Name("anchor_events_skipped_total")
                   .Help("Events a lane deliberately did not send, by reason.")
                   .Register(*registry_)),
      poison_(BuildCounter()
                  .Name("anchor_events_poison_records_total")
                  .Help("Records that are not deliverable events, by reason.")
                  .Register(*registry_)),
      dead_lettered_(BuildCounter()
                         .Name("anchor_events_dead_lettered_total")
                         .Help("Records written to the dead-letter topic, by reason.")
                         .Register(*registry_)),
      in_flight_(BuildGauge()
                     .Name("anchor_events_in_flight")
                     .Help("HTTP requests currently in flight.")
                     .Register(*registry_)),
      pending_(BuildGauge()
                   .Name("anchor_events_pending_records")
                   .Help("Records read but not yet finished (queued, in flight or waiting "
                         "to retry).")
                   .Register(*registry_)),
      circuit_open_(BuildGauge()
                        .Name("anchor_events_circuit_open")
                        .Help("1 while the lane's destination is considered down.")
                        .Register(*registry_)),
      lag_(BuildGauge()
               .Name("anchor_events_consumer_lag")
               .Help("Records between the lane's committed offsets and the partition ends.")
               .Register(*registry_)),
      assigned_(BuildGauge()
                    .Name("anchor_events_assigned_partitions")
                    .Help("Partitions currently assigned to the lane's consumer.")
                    .Register(*registry_)),
      shared_(BuildGauge()
                  .Name("anchor_events_shared_partitions")
                  .Help("Assigned partitions the lane reads through the process's shared "
                        "fetch instead of fetching them itself.")
                  .Register(*registry_)),
      request_duration_(BuildHistogram()
                            .Name("anchor_events_request_duration_seconds")
                            .Help("Duration of one HTTP attempt.")
                            .Register(*registry_)),
      event_age_(BuildHistogram()
                     .Name("anchor_events_event_age_seconds")
                     .Help("Record timestamp to successful delivery.")
                     .Register(*registry_)),
      reloads_(BuildCounter()
                   .Name("anchor_events_config_reloads_total")
                   .Help("Configuration reloads, by result (applied, failed).")
                   .Register(*registry_)),
      generation_(BuildGauge()
                      .Name("anchor_events_config_generation")
                      .Help("Generation of the configuration in use; increases on every applied "
                            "reload.")
                      .Register(*registry_)),
      clients_revision_(BuildGauge()
                            .Name("anchor_events_clients_revision")
                            .Help("The revision of the clients document in use (written by the "
                                  "operator; 0 when the document has none).")
                            .Register(*registry_)) {}

LaneMetrics Metrics::ForLane(const std::string& lane) {
  LaneMetrics m;
  m.consumed = &consumed_.Add({{"lane", lane}});
  m.delivered = &deliveries_.Add({{"lane", lane}, {"outcome", "delivered"}});
  m.rejected = &deliveries_.Add({{"lane", lane}, {"outcome", "rejected"}});
  m.exhausted = &deliveries_.Add({{"lane", lane}, {"outcome", "exhausted"}});
  m.retries = &retries_.Add({{"lane", lane}});
  m.in_flight = &in_flight_.Add({{"lane", lane}});
  m.pending = &pending_.Add({{"lane", lane}});
  m.circuit_open = &circuit_open_.Add({{"lane", lane}});
  m.lag = &lag_.Add({{"lane", lane}});
  m.assigned_partitions = &assigned_.Add({{"lane", lane}});
  m.shared_partitions = &shared_.Add({{"lane", lane}});
  m.request_duration = &request_duration_.Add({{"lane", lane}}, LatencyBuckets());
  m.event_age = &event_age_.Add({{"lane", lane}}, AgeBuckets());
  return m;
}

void Metrics::RemoveLane(const std::string& lane) {
  // Families keep removed series' memory alive only until Remove; gauges of a removed lane
  // must not report stale values.
  in_flight_.Remove(&in_flight_.Add({{"lane", lane}}));
  pending_.Remove(&pending_.Add({{"lane", lane}}));
  circuit_open_.Remove(&circuit_open_.Add({{"lane", lane}}));
  lag_.Remove(&lag_.Add({{"lane", lane}}));
  assigned_.Remove(&assigned_.Add({{"lane", lane}}));
  shared_.Remove(&shared_.Add({{"lane", lane}}));
}

prometheus::Counter& Metrics::Skipped(const std::string& lane, const std::string& reason) {
  return skipped_.Add({{"lane", lane}, {"reason", reason}});
}

void Metrics::CountPoison(const std::string& lane, const std::string& reason) {
  poison_.Add({{"lane", lane}, {"reason", reason}}).Increment();
}

prometheus::Counter& Metrics::Attempts(const std::string& lane, const std::string& status_class) {
  return attempts_.Add({{"lane", lane}, {"status_class", status_class}});
}

void Metrics::CountDeadLettered(const std::string& lane, const std::string& reason) {
  dead_lettered_.Add({{"lane", lane}, {"reason", reason}}).Increment();
}

void Metrics::CountReload(bool ok) {
  reloads_.Add({{"result", ok ? "applied" : "failed"}}).Increment();
}

void Metrics::SetConfigGeneration(int64_t generation) {
  generation_.Add({}).Set(static_cast<double>(generation));
}

void Metrics::SetClientsRevision(int64_t revision) {
  clients_revision_.Add({}).Set(static_cast<double>(revision));
}

std::string Metrics::Serialize() const {
  prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace anchor_events::ops
