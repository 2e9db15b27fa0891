// Leader election through a coordination.k8s.io/v1 Lease (SPEC §10), so two operator replicas
// never both write: the holder renews the Lease; a candidate takes it over only after it has
// seen the same record unchanged for a whole lease duration (measured on its own monotonic
// clock, so clock skew between nodes does not matter).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "control/operator_metrics.h"
#include "control/settings.h"
#include "kube/client.h"

namespace anchor_events::control {

class LeaderElector {
 public:
  LeaderElector(kube::Client* client, const Settings& settings, OperatorMetrics* metrics);

  // Runs until Stop(): acquires or renews every retry period. Then releases a held Lease so a
  // standby takes over at once.
  void Run();
  void Stop();

  // True while this replica may write. Always true with leader election off.
  bool IsLeader() const { return leader_.load(); }

 private:
  struct Record {
    std::string holder;
    std::string renew_time;
    std::string acquire_time;
    int64_t transitions = 0;
    std::string resource_version;
    bool exists = false;
  };

  bool TryAcquireOrRenew();
  bool Read(Record* record);
  bool Write(const Record& current, bool release);
  void SetLeader(bool leader);
  std::string LeasePath(bool collection) const;

  kube::Client* client_;
  const Settings& settings_;
  OperatorMetrics* metrics_;
  std::atomic<bool> leader_{false};
  std::chrono::steady_clock::time_point last_renewed_{};
  std::string observed_;  // holder + renew time last seen
  std::chrono::steady_clock::time_point observed_at_{};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace anchor_events::control
