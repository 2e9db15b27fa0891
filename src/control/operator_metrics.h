// The operator's metrics, on its own management port (docs/kubernetes.md, "The operator").
// Labels stay low-cardinality: result, reason, state; never a resource or Secret name.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace anchor_events::control {

// Thread-safe.
class OperatorMetrics {
 public:
  OperatorMetrics();

  void CountReconcile(bool ok);
  // reason: expired (410 Gone), closed (the server ended the stream), error (transport or
  // HTTP failure)
  void CountWatchRestart(const std::string& reason);
  void CountApiError();
  void SetLeader(bool leader);
  void SetClients(int ready, int pending, int invalid);
  void SetRevision(int64_t revision);

  std::string Serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& reconciles_;
  prometheus::Family<prometheus::Counter>& watch_restarts_;
  prometheus::Family<prometheus::Counter>& api_errors_;
  prometheus::Family<prometheus::Gauge>& leader_;
  prometheus::Family<prometheus::Gauge>& clients_;
  prometheus::Family<prometheus::Gauge>& revision_;
};

}  // namespace anchor_events::control
