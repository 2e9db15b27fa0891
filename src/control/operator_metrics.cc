#include "control/operator_metrics.h"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace anchor_events::control {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

OperatorMetrics::OperatorMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      reconciles_(BuildCounter()
                      .Name("anchor_events_operator_reconciles_total")
                      .Help("Reconciliations of the clients ConfigMap and the resources' status, "
                            "by result (ok, error).")
                      .Register(*registry_)),
      watch_restarts_(BuildCounter()
                          .Name("anchor_events_operator_watch_restarts_total")
                          .Help("CallbackClient watches started again, by reason (expired: 410 "
                                "Gone and a new list; closed: ended by the server; error).")
                          .Register(*registry_)),
      api_errors_(BuildCounter()
                      .Name("anchor_events_operator_api_errors_total")
                      .Help("Kubernetes API requests that failed (transport errors and "
                            "unexpected statuses).")
                      .Register(*registry_)),
      leader_(BuildGauge()
                  .Name("anchor_events_operator_leader")
                  .Help("1 while this replica holds the leader Lease and writes; 0 on standby.")
                  .Register(*registry_)),
      clients_(BuildGauge()
                   .Name("anchor_events_operator_clients")
                   .Help("CallbackClient resources by state (ready, pending, invalid), as last "
                         "reconciled by the leader.")
                   .Register(*registry_)),
      revision_(BuildGauge()
                    .Name("anchor_events_operator_clients_revision")
                    .Help("The revision of the clients document in the ConfigMap.")
                    .Register(*registry_)) {
  reconciles_.Add({{"result", "ok"}});
  reconciles_.Add({{"result", "error"}});
  for (const char* reason : {"expired", "closed", "error"}) {
    watch_restarts_.Add({{"reason", reason}});
  }
  api_errors_.Add({});
  leader_.Add({});
  SetClients(0, 0, 0);
  revision_.Add({});
}

void OperatorMetrics::CountReconcile(bool ok) {
  reconciles_.Add({{"result", ok ? "ok" : "error"}}).Increment();
}

void OperatorMetrics::CountWatchRestart(const std::string& reason) {
  watch_restarts_.Add({{"reason", reason}}).Increment();
}

void OperatorMetrics::CountApiError() { api_errors_.Add({}).Increment(); }

void OperatorMetrics::SetLeader(bool leader) { leader_.Add({}).Set(leader ? 1 : 0); }

void OperatorMetrics::SetClients(int ready, int pending, int invalid) {
  clients_.Add({{"state", "ready"}}).Set(ready);
  clients_.Add({{"state", "pending"}}).Set(pending);
  clients_.Add({{"state", "invalid"}}).Set(invalid);
}

void OperatorMetrics::SetRevision(int64_t revision) {
  revision_.Add({}).Set(static_cast<double>(revision));
}

std::string OperatorMetrics::Serialize() const {
  prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace anchor_events::control
