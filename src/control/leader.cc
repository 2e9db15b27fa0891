#include "control/leader.h"

#include "control/json_util.h"
#include "ops/log.h"

namespace anchor_events::control {

LeaderElector::LeaderElector(kube::Client* client, const Settings& settings,
                             OperatorMetrics* metrics)
    : client_(client), settings_(settings), metrics_(metrics) {
  if (!settings_.leader_election) {
    leader_.store(true);
    metrics_->SetLeader(true);
  }
}

std::string LeaderElector::LeasePath(bool collection) const {
  std::string path =
      "/apis/coordination.k8s.io/v1/namespaces/" + kube::QueryEscape(settings_.ns) + "/leases";
  return collection ? path : path + "/" + kube::QueryEscape(settings_.lease_name);
}

void LeaderElector::SetLeader(bool leader) {
  if (leader_.exchange(leader) != leader) {
    metrics_->SetLeader(leader);
    if (leader) {
      ops::Log().Info("became leader",
                      {{"lease", settings_.lease_name}, {"identity", settings_.identity}});
    } else {
      ops::Log().Warn("lost leadership; writing stops", {{"lease", settings_.lease_name}});
    }
  }
}

bool LeaderElector::Read(Record* record) {
  Result<kube::Response> response = client_->Request("GET", LeasePath(false));
  if (!response.ok() || (response->status != 200 && response->status != 404)) {
    metrics_->CountApiError();
    ops::Log().Warn("reading the leader Lease failed",
                    {{"lease", settings_.lease_name},
                     {"error", response.ok() ? "HTTP " + std::to_string(response->status)
                                             : response.error().message}});
    return false;
  }
  *record = Record{};
  if (response->status == 404) {
    return true;
  }
  Result<rapidjson::Document> lease = ParseJson(response->body, "the leader Lease");
  if (!lease.ok()) {
    return false;
  }
  const rapidjson::Value* spec = Member(*lease, "spec");
  const rapidjson::Value* metadata = Member(*lease, "metadata");
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  record->exists = true;
  record->holder = StringMember(spec ? *spec : kEmpty, "holderIdentity");
  record->renew_time = StringMember(spec ? *spec : kEmpty, "renewTime");
  record->acquire_time = StringMember(spec ? *spec : kEmpty, "acquireTime");
  record->transitions = IntMember(spec ? *spec : kEmpty, "leaseTransitions").value_or(0);
  record->resource_version = StringMember(metadata ? *metadata : kEmpty, "resourceVersion");
  return true;
}

bool LeaderElector::Write(const Record& current, bool release) {
  bool taking_over = current.holder != settings_.identity;
  std::string now = NowRfc3339Micro();
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("apiVersion");
  w.String("coordination.k8s.io/v1");
  w.Key("kind");
  w.String("Lease");
  w.Key("metadata");
  w.StartObject();
  w.Key("name");
  WriteString(w, settings_.lease_name);
  w.Key("namespace");
  WriteString(w, settings_.ns);
  if (current.exists) {
    w.Key("resourceVersion");
    WriteString(w, current.resource_version);
  }
  w.EndObject();
  w.Key("spec");
  w.StartObject();
  if (!release) {
    w.Key("holderIdentity");
    WriteString(w, settings_.identity);
  }
  w.Key("leaseDurationSeconds");
  w.Int64(release ? 1 : settings_.lease_duration.count());
  w.Key("acquireTime");
  WriteString(w, taking_over || current.acquire_time.empty() ? now : current.acquire_time);
  w.Key("renewTime");
  WriteString(w, now);
  w.Key("leaseTransitions");
  w.Int64(current.transitions + (taking_over && !current.holder.empty() ? 1 : 0));
  w.EndObject();
  w.EndObject();
  std::string body(buffer.GetString(), buffer.GetSize());
  Result<kube::Response> response = current.exists
                                        ? client_->Request("PUT", LeasePath(false), body)
                                        : client_->Request("POST", LeasePath(true), body);
  if (response.ok() && (response->status == 200 || response->status == 201)) {
    observed_ = (release ? "" : settings_.identity) + "|" + now;
    observed_at_ = std::chrono::steady_clock::now();
    return true;
  }
  if (response.ok() && response->status == 409) {
    return false;  // someone else wrote first; read again next period
  }
  metrics_->CountApiError();
  ops::Log().Warn("writing the leader Lease failed",
                  {{"lease", settings_.lease_name},
                   {"error", response.ok() ? "HTTP " + std::to_string(response->status)
                                           : response.error().message}});
  return false;
}

bool LeaderElector::TryAcquireOrRenew() {
  Record record;
  if (!Read(&record)) {
    return false;
  }
  auto now = std::chrono::steady_clock::now();
  std::string seen = record.holder + "|" + record.renew_time;
  if (seen != observed_) {
    observed_ = seen;
    observed_at_ = now;
  }
  bool held_by_other =
      record.exists && !record.holder.empty() && record.holder != settings_.identity;
  if (held_by_other && now - observed_at_ < settings_.lease_duration) {
    return false;
  }
  if (held_by_other) {
    ops::Log().Info("leader Lease expired, taking over",
                    {{"lease", settings_.lease_name}, {"previous_holder", record.holder}});
  }
  return Write(record, false);
}

void LeaderElector::Run() {
  if (!settings_.leader_election) {
    return;
  }
  auto retry =
      std::max(std::chrono::milliseconds(500),
               std::chrono::duration_cast<std::chrono::milliseconds>(settings_.lease_duration) / 5);
  auto renew_deadline = settings_.lease_duration * 2 / 3;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    bool renewed = TryAcquireOrRenew();
    auto now = std::chrono::steady_clock::now();
    if (renewed) {
      last_renewed_ = now;
      SetLeader(true);
    } else if (leader_.load() && now - last_renewed_ > renew_deadline) {
      SetLeader(false);
    } else if (!renewed && leader_.load()) {
      // Still within the renew deadline: keep leading, try again soon.
    }
    lock.lock();
    wake_.wait_for(lock, retry, [this] { return stopping_; });
  }
  lock.unlock();
  if (leader_.load()) {
    SetLeader(false);
    Record record;
    if (Read(&record) && record.holder == settings_.identity) {
      if (Write(record, true)) {
        ops::Log().Info("leader Lease released", {{"lease", settings_.lease_name}});
      }
    }
  }
}

void LeaderElector::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

}  // namespace anchor_events::control
