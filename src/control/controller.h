// The operator's control loop (SPEC §10): keeps a cache of every CallbackClient of the watched
// namespaces (list, then watch; 410 Gone or a lost connection lists again), and, while this
// replica leads, renders them into the clients ConfigMap and writes each resource's status.
//
// A resource is Ready only when every processor reports (in /status) a clients revision at or
// after the first revision that contained its current spec.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "control/leader.h"
#include "control/operator_metrics.h"
#include "control/processor_probe.h"
#include "control/render.h"
#include "control/resource.h"
#include "control/settings.h"
#include "kube/client.h"
#include "ops/management_server.h"

namespace anchor_events::control {

class Controller {
 public:
  Controller(kube::Client* client, const Settings& settings, OperatorMetrics* metrics,
             LeaderElector* leader);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void Start();  // one watch thread per namespace and the reconcile thread
  void Stop();

  ops::Probe Live() const;
  ops::Probe Ready() const;
  std::string StatusJson() const;

 private:
  struct Desired;  // a resource's status as it should be

  void WatchNamespace(const std::string& ns);
  bool ListNamespace(const std::string& ns, std::string* resource_version);
  void HandleWatchLine(const std::string& ns, std::string_view line, std::string* resource_version,
                       bool* expired);
  void MarkDirty();
  bool SleepUnlessStopping(std::chrono::milliseconds duration);

  void ReconcileLoop();
  // One pass; returns how long to wait before the next one when nothing changes.
  Result<std::chrono::milliseconds> Reconcile();
  Result<SecretIndex> FetchSecrets(const std::vector<CallbackClient>& clients);
  // The `data` of the ConfigMap or Secret at `path` (base64-decoded for a Secret); none when it
  // does not exist.
  Result<std::optional<std::map<std::string, std::string>>> ReadData(const std::string& path,
                                                                     const std::string& what,
                                                                     bool base64);
  Status ServerSideApply(const std::string& path, const std::string& manifest,
                         const std::string& what);
  Result<int64_t> ApplyConfigMap(const Rendering& rendering, bool* changed);
  Status ApplyClientSecrets(const Rendering& rendering);
  std::string OwnerUid();
  void UpdateFirstRevisions(const std::vector<CallbackClient>& clients, const Rendering& rendering,
                            int64_t revision);
  Desired Decide(const CallbackClient& client, const Outcome& outcome,
                 const std::vector<ProcessorState>& processors,
                 const std::vector<std::string>& unreachable, bool discovery_failed) const;
  Status WriteStatus(const CallbackClient& client, const Desired& desired);
  void RecordEvent(const CallbackClient& client, const Desired& desired);

  kube::Client* client_;
  const Settings& settings_;
  OperatorMetrics* metrics_;
  LeaderElector* leader_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool dirty_ = true;
  std::map<std::string, CallbackClient> cache_;  // by namespace/name
  std::map<std::string, bool> synced_;           // namespace -> first list done
  std::chrono::steady_clock::time_point last_pass_;
  int64_t revision_ = 0;
  std::string last_error_;

  // Reconcile thread only.
  struct FirstRevision {
    std::string fingerprint;
    int64_t revision = 0;
  };
  std::map<std::string, FirstRevision> first_revision_;
  std::string owner_uid_;

  std::vector<std::thread> threads_;
};

}  // namespace anchor_events::control
