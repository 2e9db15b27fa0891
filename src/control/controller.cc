#include "control/controller.h"

#include <algorithm>
#include <random>
#include <set>

#include "control/json_util.h"
#include "ops/log.h"
#include "signing/encoding.h"

namespace anchor_events::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kFieldManager = "anchor-events-operator";
constexpr milliseconds kFastPoll{2000};
constexpr milliseconds kStandbyPoll{1000};
constexpr milliseconds kProcessorTimeout{2000};
constexpr size_t kMaxMessage = 4000;
constexpr auto kStalledLoop = std::chrono::minutes(5);

std::string Truncate(std::string text, size_t max) {
  if (text.size() > max) {
    text.resize(max);
    text += "...";
  }
  return text;
}

std::string HttpProblem(const Result<kube::Response>& response) {
  if (!response.ok()) {
    return response.error().message;
  }
  std::string message;
  if (Result<rapidjson::Document> status = ParseJson(response->body, "a Status"); status.ok()) {
    message = StringMember(*status, "message");
  }
  return "HTTP " + std::to_string(response->status) +
         (message.empty() ? "" : ": " + Truncate(message, 300));
}

milliseconds Jittered(milliseconds base) {
  // A small engine: thread-local storage is set up in every thread of the process, and a
  // hundred lanes' Kafka clients make hundreds of threads (mt19937 would be 5 KB each).
  thread_local std::minstd_rand random{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.8, 1.2);
  return milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * factor(random)));
}

}  // namespace

struct Controller::Desired {
  int64_t observed_generation = 0;
  std::string client_name;
  std::string consumer_group;
  std::optional<int64_t> config_generation;
  std::string status;  // True / False
  std::string reason;
  std::string message;
};

Controller::Controller(kube::Client* client, const Settings& settings, OperatorMetrics* metrics,
                       LeaderElector* leader)
    : client_(client), settings_(settings), metrics_(metrics), leader_(leader) {
  last_pass_ = std::chrono::steady_clock::now();
}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  for (const std::string& ns : settings_.watch_namespaces) {
    synced_[ns] = false;
    threads_.emplace_back([this, ns] { WatchNamespace(ns); });
  }
  threads_.emplace_back([this] { ReconcileLoop(); });
}

void Controller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
}

void Controller::MarkDirty() {
  std::lock_guard<std::mutex> lock(mutex_);
  dirty_ = true;
  wake_.notify_all();
}

bool Controller::SleepUnlessStopping(milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return stopping_; });
}

// ---- the cache: list, then watch from the list's resourceVersion -------------------------

bool Controller::ListNamespace(const std::string& ns, std::string* resource_version) {
  std::map<std::string, CallbackClient> listed;
  std::string next;
  do {
    std::string path = CallbackClientsPath(ns) + "?limit=500" +
                       (next.empty() ? "" : "&continue=" + kube::QueryEscape(next));
    Result<kube::Response> response = client_->Request("GET", path);
    if (!response.ok() || response->status != 200) {
      metrics_->CountApiError();
      ops::Log().Warn("listing CallbackClients failed",
                      {{"namespace", ns}, {"error", HttpProblem(response)}});
      return false;
    }
    Result<rapidjson::Document> list = ParseJson(response->body, "the CallbackClient list");
    if (!list.ok()) {
      ops::Log().Warn("listing CallbackClients failed",
                      {{"namespace", ns}, {"error", list.error().message}});
      return false;
    }
    if (const rapidjson::Value* items = Member(*list, "items"); items && items->IsArray()) {
      for (const auto& item : items->GetArray()) {
        Result<CallbackClient> client = ParseCallbackClient(item);
        if (client.ok()) {
          std::string key = client->Key();
          listed.emplace(key, std::move(client).value());
        }
      }
    }
    static const rapidjson::Value kEmpty(rapidjson::kObjectType);
    const rapidjson::Value* metadata = Member(*list, "metadata");
    next = StringMember(metadata ? *metadata : kEmpty, "continue");
    *resource_version = StringMember(metadata ? *metadata : kEmpty, "resourceVersion");
  } while (!next.empty());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->second.ns == ns ? cache_.erase(it) : std::next(it);
    }
    cache_.merge(listed);
    synced_[ns] = true;
    dirty_ = true;
    wake_.notify_all();
  }
  ops::Log().Debug("listed CallbackClients", {{"namespace", ns}});
  return true;
}

void Controller::HandleWatchLine(const std::string& ns, std::string_view line,
                                 std::string* resource_version, bool* expired) {
  Result<rapidjson::Document> event = ParseJson(line, "a watch event");
  if (!event.ok()) {
    ops::Log().Warn("unreadable watch event",
                    {{"namespace", ns}, {"error", event.error().message}});
    return;
  }
  std::string type = StringMember(*event, "type");
  const rapidjson::Value* object = Member(*event, "object");
  if (!object) {
    return;
  }
  if (type == "ERROR") {
    int64_t code = IntMember(*object, "code").value_or(0);
    if (code == 410) {
      *expired = true;
    } else {
      ops::Log().Warn("watch error", {{"namespace", ns},
                                      {"code", code},
                                      {"error", Truncate(StringMember(*object, "message"), 300)}});
    }
    return;
  }
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  const rapidjson::Value* metadata = Member(*object, "metadata");
  std::string version = StringMember(metadata ? *metadata : kEmpty, "resourceVersion");
  if (!version.empty()) {
    *resource_version = version;
  }
  if (type == "BOOKMARK") {
    return;
  }
  Result<CallbackClient> client = ParseCallbackClient(*object);
  if (!client.ok()) {
    ops::Log().Warn("unreadable CallbackClient",
                    {{"namespace", ns}, {"error", client.error().message}});
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::string key = client->Key();
  if (type == "DELETED") {
    cache_.erase(key);
  } else if (type == "ADDED" || type == "MODIFIED") {
    cache_[key] = std::move(client).value();
  }
  dirty_ = true;
  wake_.notify_all();
}

void Controller::WatchNamespace(const std::string& ns) {
  std::string resource_version;
  bool need_list = true;
  milliseconds backoff{500};
  auto fail = [&](const std::string& reason) {
    metrics_->CountWatchRestart(reason);
    SleepUnlessStopping(Jittered(backoff));
    backoff = std::min(backoff * 2, milliseconds(30000));
  };
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(mutex_);
    return stopping_;
  };
  while (!stopping()) {
    if (need_list) {
      if (!ListNamespace(ns, &resource_version)) {
        fail("error");
        continue;
      }
      need_list = false;
    }
    bool expired = false;
    std::string path = CallbackClientsPath(ns) +
                       "?watch=1&allowWatchBookmarks=true&timeoutSeconds=240&resourceVersion=" +
                       kube::QueryEscape(resource_version);
    Result<kube::Response> result = client_->Watch(
        path,
        [&](std::string_view line) { HandleWatchLine(ns, line, &resource_version, &expired); },
        stopping);
    if (stopping()) {
      break;
    }
    if (expired || (result.ok() && result->status == 410)) {
      ops::Log().Info("watch expired (410 Gone), listing again", {{"namespace", ns}});
      metrics_->CountWatchRestart("expired");
      need_list = true;
      backoff = milliseconds(500);
      continue;
    }
    if (result.ok() && result->status == 200) {
      metrics_->CountWatchRestart("closed");
      backoff = milliseconds(500);
      continue;
    }
    metrics_->CountApiError();
    ops::Log().Warn(
        "watch failed, retrying",
        {{"namespace", ns}, {"error", HttpProblem(result)}, {"backoff_ms", backoff.count()}});
    if (result.ok() && result->status >= 400) {
      need_list = true;  // 403, 404 (CRD missing), 5xx: start over from a list
    }
    fail("error");
  }
}

// ---- reconciling ----------------------------------------------------------------------------

void Controller::ReconcileLoop() {
  milliseconds wait{0};
  milliseconds error_backoff{1000};
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, wait, [this] { return stopping_ || dirty_; });
    if (stopping_) {
      break;
    }
    // Let a burst of watch events settle into one pass.
    wake_.wait_for(lock, milliseconds(100), [this] { return stopping_; });
    dirty_ = false;
    lock.unlock();
    Result<milliseconds> next = Reconcile();
    lock.lock();
    last_pass_ = std::chrono::steady_clock::now();
    if (next.ok()) {
      wait = *next;
      error_backoff = milliseconds(1000);
      last_error_.clear();
    } else {
      last_error_ = next.error().message;
      wait = Jittered(error_backoff);
      error_backoff = std::min(error_backoff * 2, milliseconds(30000));
    }
  }
}

Result<SecretIndex> Controller::FetchSecrets(const std::vector<CallbackClient>& clients) {
  SecretIndex secrets;
  std::set<std::pair<std::string, std::string>> wanted;  // namespace, name
  for (const CallbackClient& client : clients) {
    if (!client.spec_problems.empty()) {
      continue;
    }
    if (client.ca_secret) {
      wanted.emplace(client.ns, client.ca_secret->name);
    }
    for (const SecretUse& use : client.secret_uses) {
      wanted.emplace(client.ns, use.ref.name);
    }
  }
  for (const auto& [ns, name] : wanted) {
    std::string key = ns + "/" + name;
    Result<kube::Response> response =
        client_->Request("GET", "/api/v1/namespaces/" + kube::QueryEscape(ns) + "/secrets/" +
                                    kube::QueryEscape(name));
    SecretData& data = secrets[key];
    if (response.ok() && response->status == 404) {
      continue;
    }
    if (response.ok() && response->status == 403) {
      data.problem =
          "is not readable by the operator (list it in the chart's operator.secretNames)";
      continue;
    }
    if (!response.ok() || response->status != 200) {
      metrics_->CountApiError();
      return Error{"reading Secret " + key + " failed: " + HttpProblem(response)};
    }
    Result<rapidjson::Document> secret = ParseJson(response->body, "Secret " + key);
    if (!secret.ok()) {
      return secret.error();
    }
    data.found = true;
    if (const rapidjson::Value* values = Member(*secret, "data"); values && values->IsObject()) {
      for (const auto& member : values->GetObject()) {
        if (!member.value.IsString()) {
          continue;
        }
        std::optional<std::string> decoded = signing::Base64Decode(
            std::string_view(member.value.GetString(), member.value.GetStringLength()));
        if (decoded) {
          data.data[member.name.GetString()] = std::move(*decoded);
        }
      }
    }
  }
  return secrets;
}

std::string Controller::OwnerUid() {
  if (settings_.owner_deployment.empty() || !owner_uid_.empty()) {
    return owner_uid_;
  }
  Result<kube::Response> response =
      client_->Request("GET", "/apis/apps/v1/namespaces/" + kube::QueryEscape(settings_.ns) +
                                  "/deployments/" + kube::QueryEscape(settings_.owner_deployment));
  if (response.ok() && response->status == 200) {
    if (Result<rapidjson::Document> deployment = ParseJson(response->body, "the Deployment");
        deployment.ok()) {
      if (const rapidjson::Value* metadata = Member(*deployment, "metadata")) {
        owner_uid_ = StringMember(*metadata, "uid");
      }
    }
  } else {
    metrics_->CountApiError();
    ops::Log().Warn(
        "reading the owner Deployment failed; the ConfigMap is written without an "
        "owner reference",
        {{"deployment", settings_.owner_deployment}, {"error", HttpProblem(response)}});
  }
  return owner_uid_;
}

Result<std::optional<std::map<std::string, std::string>>> Controller::ReadData(
    const std::string& path, const std::string& what, bool base64) {
  Result<kube::Response> current = client_->Request("GET", path);
  if (current.ok() && current->status == 404) {
    return std::optional<std::map<std::string, std::string>>();
  }
  if (!current.ok() || current->status != 200) {
    metrics_->CountApiError();
    return Error{"reading " + what + " failed: " + HttpProblem(current)};
  }
  Result<rapidjson::Document> object = ParseJson(current->body, what);
  if (!object.ok()) {
    return object.error();
  }
  std::map<std::string, std::string> data;
  if (const rapidjson::Value* values = Member(*object, "data"); values && values->IsObject()) {
    for (const auto& member : values->GetObject()) {
      if (!member.value.IsString()) {
        continue;
      }
      std::string_view value(member.value.GetString(), member.value.GetStringLength());
      data[member.name.GetString()] =
          base64 ? signing::Base64Decode(value).value_or(std::string()) : std::string(value);
    }
  }
  return std::optional<std::map<std::string, std::string>>(std::move(data));
}

Status Controller::ServerSideApply(const std::string& path, const std::string& manifest,
                                   const std::string& what) {
  Result<kube::Response> applied = client_->Request(
      "PATCH", path + "?fieldManager=" + std::string(kFieldManager) + "&force=true", manifest,
      "application/apply-patch+yaml");
  if (!applied.ok() || (applied->status != 200 && applied->status != 201)) {
    metrics_->CountApiError();
    return Error{"applying " + what + " failed: " + HttpProblem(applied)};
  }
  return {};
}

Result<int64_t> Controller::ApplyConfigMap(const Rendering& rendering, bool* changed) {
  *changed = false;
  std::string path = "/api/v1/namespaces/" + kube::QueryEscape(settings_.ns) + "/configmaps/" +
                     kube::QueryEscape(settings_.clients_configmap);
  std::string what = "ConfigMap " + settings_.clients_configmap;
  Result<std::optional<std::map<std::string, std::string>>> current = ReadData(path, what, false);
  if (!current.ok()) {
    return current.error();
  }
  int64_t revision = 0;
  std::string document;
  std::map<std::string, std::string> files;
  if (*current) {
    for (const auto& [name, value] : **current) {
      if (name == settings_.clients_key) {
        document = value;
      } else if (name.rfind("ca-", 0) == 0) {
        files[name] = value;
      }
    }
    revision = DocumentRevision(document).value_or(0);
  }
  if (*current && document == ClientsDocument(revision, rendering) && files == rendering.files) {
    return revision;
  }
  int64_t next = revision + 1;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("apiVersion");
  w.String("v1");
  w.Key("kind");
  w.String("ConfigMap");
  w.Key("metadata");
  w.StartObject();
  w.Key("name");
  WriteString(w, settings_.clients_configmap);
  w.Key("namespace");
  WriteString(w, settings_.ns);
  w.Key("annotations");
  w.StartObject();
  w.Key("anchor-events.io/clients-revision");
  WriteString(w, std::to_string(next));
  w.EndObject();
  if (std::string uid = OwnerUid(); !uid.empty()) {
    w.Key("ownerReferences");
    w.StartArray();
    w.StartObject();
    w.Key("apiVersion");
    w.String("apps/v1");
    w.Key("kind");
    w.String("Deployment");
    w.Key("name");
    WriteString(w, settings_.owner_deployment);
    w.Key("uid");
    WriteString(w, uid);
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();
  w.Key("data");
  w.StartObject();
  w.Key(settings_.clients_key.c_str());
  WriteString(w, ClientsDocument(next, rendering));
  for (const auto& [name, pem] : rendering.files) {
    w.Key(name.c_str());
    WriteString(w, pem);
  }
  w.EndObject();
  w.EndObject();
  if (Status status =
          ServerSideApply(path, std::string(buffer.GetString(), buffer.GetSize()), what);
      !status.ok()) {
    return status.error();
  }
  *changed = true;
  ops::Log().Info("clients ConfigMap written",
                  {{"configmap", settings_.clients_configmap}, {"revision", next}});
  return next;
}

Status Controller::ApplyClientSecrets(const Rendering& rendering) {
  std::string path = "/api/v1/namespaces/" + kube::QueryEscape(settings_.ns) + "/secrets/" +
                     kube::QueryEscape(settings_.client_secrets_secret);
  std::string what = "Secret " + settings_.client_secrets_secret;
  Result<std::optional<std::map<std::string, std::string>>> held = ReadData(path, what, true);
  if (!held.ok()) {
    return held.error();
  }
  if (*held ? **held == rendering.secret_files : rendering.secret_files.empty()) {
    return {};  // holds exactly what it should (or nothing is needed and nothing exists)
  }
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("apiVersion");
  w.String("v1");
  w.Key("kind");
  w.String("Secret");
  w.Key("metadata");
  w.StartObject();
  w.Key("name");
  WriteString(w, settings_.client_secrets_secret);
  w.Key("namespace");
  WriteString(w, settings_.ns);
  w.EndObject();
  w.Key("data");
  w.StartObject();
  for (const auto& [name, value] : rendering.secret_files) {
    w.Key(name.c_str());
    WriteString(w, signing::Base64Encode(value));
  }
  w.EndObject();
  w.EndObject();
  if (Status status =
          ServerSideApply(path, std::string(buffer.GetString(), buffer.GetSize()), what);
      !status.ok()) {
    return status;
  }
  ops::Log().Info("client-secrets Secret written",
                  {{"secret", settings_.client_secrets_secret},
                   {"keys", static_cast<int64_t>(rendering.secret_files.size())}});
  return {};
}

void Controller::UpdateFirstRevisions(const std::vector<CallbackClient>& clients,
                                      const Rendering& rendering, int64_t revision) {
  std::map<std::string, FirstRevision> next;
  for (const CallbackClient& client : clients) {
    const Outcome& outcome = rendering.outcomes.at(client.Key());
    if (outcome.verdict != Verdict::kValid) {
      continue;
    }
    auto known = first_revision_.find(client.Key());
    if (known != first_revision_.end() && known->second.fingerprint == outcome.fingerprint) {
      next[client.Key()] = known->second;
      continue;
    }
    int64_t first = revision;
    // After a restart: a spec the processors already loaded for this generation keeps the
    // revision its status records.
    const ResourceStatus& status = client.status;
    if (known == first_revision_.end() && status.observed_generation == client.generation &&
        status.ready.status == "True" && status.config_generation &&
        *status.config_generation <= revision) {
      first = *status.config_generation;
    }
    next[client.Key()] = {outcome.fingerprint, first};
  }
  first_revision_ = std::move(next);
}

Controller::Desired Controller::Decide(const CallbackClient& client, const Outcome& outcome,
                                       const std::vector<ProcessorState>& processors,
                                       const std::vector<std::string>& unreachable,
                                       bool discovery_failed) const {
  Desired desired;
  desired.observed_generation = client.generation;
  desired.status = "False";
  if (outcome.verdict != Verdict::kValid) {
    desired.reason = VerdictReason(outcome.verdict);
    desired.message = Truncate(outcome.message, kMaxMessage);
    return desired;
  }
  desired.client_name = outcome.client_name;
  int64_t first = first_revision_.at(client.Key()).revision;
  desired.config_generation = first;
  const ResourceStatus& status = client.status;
  // Applied stays Applied while the spec and its revision stay the same: a processor pod that
  // restarts loads the same file again.
  if (status.ready.status == "True" && status.ready.reason == "Applied" &&
      status.observed_generation == client.generation && status.config_generation == first) {
    desired.status = "True";
    desired.reason = "Applied";
    desired.message = status.ready.message;
    desired.consumer_group = status.consumer_group;
    for (const ProcessorState& processor : processors) {
      if (auto group = processor.consumer_groups.find(outcome.client_name);
          group != processor.consumer_groups.end()) {
        desired.consumer_group = group->second;
      }
    }
    return desired;
  }
  desired.reason = "Pending";
  if (discovery_failed) {
    desired.message = "cannot list the processor pods; waiting to confirm clients revision " +
                      std::to_string(first) + " is loaded";
    return desired;
  }
  if (processors.empty() && unreachable.empty()) {
    desired.message =
        "no ready processor pod" +
        (settings_.processor_service.empty() ? std::string()
                                             : " behind Service " + settings_.processor_service) +
        "; clients revision " + std::to_string(first) + " is not loaded yet";
    return desired;
  }
  std::vector<std::string> behind;
  std::string refused;
  for (const ProcessorState& processor : processors) {
    if (!processor.revision || *processor.revision < first) {
      behind.push_back(processor.base_url + " at " +
                       (processor.revision ? std::to_string(*processor.revision) : "none"));
      if (!processor.reload_error.empty()) {
        refused = processor.reload_error;
      }
    }
  }
  if (unreachable.empty() && behind.empty()) {
    desired.status = "True";
    desired.reason = "Applied";
    desired.message = "loaded by " + std::to_string(processors.size()) +
                      " processor pod(s) (clients revision " + std::to_string(first) + ")";
    for (const ProcessorState& processor : processors) {
      if (auto group = processor.consumer_groups.find(outcome.client_name);
          group != processor.consumer_groups.end()) {
        desired.consumer_group = group->second;
      }
    }
    return desired;
  }
  std::string message =
      "waiting for the processor to load clients revision " + std::to_string(first);
  if (!behind.empty()) {
    message += "; behind: ";
    for (size_t i = 0; i < behind.size(); ++i) {
      message += (i ? ", " : "") + behind[i];
    }
  }
  if (!unreachable.empty()) {
    message += "; no /status from: ";
    for (size_t i = 0; i < unreachable.size(); ++i) {
      message += (i ? ", " : "") + unreachable[i];
    }
  }
  if (!refused.empty()) {
    message += "; the processor refused its last clients reload: " + Truncate(refused, 500);
  }
  desired.message = Truncate(message, kMaxMessage);
  return desired;
}

namespace {

std::string StatusPatch(const std::string& resource_version, const std::string& transition,
                        int64_t observed_generation, const std::string& client_name,
                        const std::string& consumer_group, std::optional<int64_t> config_generation,
                        const std::string& status, const std::string& reason,
                        const std::string& message) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("metadata");
  w.StartObject();
  w.Key("resourceVersion");
  WriteString(w, resource_version);
  w.EndObject();
  w.Key("status");
  w.StartObject();
  w.Key("observedGeneration");
  w.Int64(observed_generation);
  auto optional_text = [&](const char* key, const std::string& value) {
    w.Key(key);
    if (value.empty()) {
      w.Null();
    } else {
      WriteString(w, value);
    }
  };
  optional_text("clientName", client_name);
  optional_text("consumerGroup", consumer_group);
  w.Key("configGeneration");
  if (config_generation) {
    w.Int64(*config_generation);
  } else {
    w.Null();
  }
  w.Key("conditions");
  w.StartArray();
  w.StartObject();
  w.Key("type");
  w.String("Ready");
  w.Key("status");
  WriteString(w, status);
  w.Key("reason");
  WriteString(w, reason);
  w.Key("message");
  WriteString(w, message);
  w.Key("observedGeneration");
  w.Int64(observed_generation);
  w.Key("lastTransitionTime");
  WriteString(w, transition);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

Status Controller::WriteStatus(const CallbackClient& client, const Desired& desired) {
  const ResourceStatus& now = client.status;
  bool same =
      now.observed_generation == desired.observed_generation &&
      now.client_name == desired.client_name && now.consumer_group == desired.consumer_group &&
      now.config_generation == desired.config_generation && now.ready.status == desired.status &&
      now.ready.reason == desired.reason && now.ready.message == desired.message &&
      now.ready.observed_generation == desired.observed_generation;
  if (same) {
    return {};
  }
  bool transition = now.ready.status != desired.status || now.ready.reason != desired.reason;
  std::string transition_time =
      now.ready.status == desired.status && !now.ready.last_transition_time.empty()
          ? now.ready.last_transition_time
          : NowRfc3339();
  std::string path = CallbackClientPath(client.ns, client.name) + "/status";
  std::string resource_version = client.resource_version;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<kube::Response> response = client_->Request(
        "PATCH", path,
        StatusPatch(resource_version, transition_time, desired.observed_generation,
                    desired.client_name, desired.consumer_group, desired.config_generation,
                    desired.status, desired.reason, desired.message),
        "application/merge-patch+json");
    if (response.ok() && response->status == 200) {
      if (transition) {
        ops::Log().Info("CallbackClient status changed",
                        {{"callbackclient", client.Key()},
                         {"ready", desired.status},
                         {"reason", desired.reason},
                         {"generation", desired.observed_generation}});
        RecordEvent(client, desired);
      }
      return {};
    }
    if (response.ok() && response->status == 404) {
      return {};  // deleted meanwhile; the watch removes it
    }
    if (!(response.ok() && response->status == 409)) {
      metrics_->CountApiError();
      return Error{"writing the status failed for CallbackClient " + client.Key() + ": " +
                   HttpProblem(response)};
    }
    // Conflict: someone changed the resource since it was read. Re-read it; a new generation
    // is decided afresh by the next pass, the same one is written again.
    Result<kube::Response> fresh =
        client_->Request("GET", CallbackClientPath(client.ns, client.name));
    if (!fresh.ok() || fresh->status != 200) {
      return {};
    }
    Result<CallbackClient> reread = ParseCallbackClient(std::string_view(fresh->body));
    if (!reread.ok() || reread->generation != client.generation) {
      MarkDirty();
      return {};
    }
    resource_version = reread->resource_version;
  }
  MarkDirty();
  return Error{"writing the status failed for CallbackClient " + client.Key() +
               ": conflicts on every attempt"};
}

void Controller::RecordEvent(const CallbackClient& client, const Desired& desired) {
  bool warning = desired.reason != "Applied" && desired.reason != "Pending";
  std::string now = NowRfc3339();
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("apiVersion");
  w.String("v1");
  w.Key("kind");
  w.String("Event");
  w.Key("metadata");
  w.StartObject();
  w.Key("generateName");
  WriteString(w, client.name.substr(0, 200) + ".");
  w.Key("namespace");
  WriteString(w, client.ns);
  w.EndObject();
  w.Key("involvedObject");
  w.StartObject();
  w.Key("apiVersion");
  WriteString(w, std::string(kGroup) + "/" + std::string(kVersion));
  w.Key("kind");
  WriteString(w, kKind);
  w.Key("namespace");
  WriteString(w, client.ns);
  w.Key("name");
  WriteString(w, client.name);
  w.Key("uid");
  WriteString(w, client.uid);
  w.Key("resourceVersion");
  WriteString(w, client.resource_version);
  w.EndObject();
  w.Key("reason");
  WriteString(w, desired.reason);
  w.Key("message");
  WriteString(w, Truncate(desired.message, 1000));
  w.Key("type");
  w.String(warning ? "Warning" : "Normal");
  w.Key("source");
  w.StartObject();
  w.Key("component");
  w.String(kFieldManager);
  w.EndObject();
  w.Key("reportingComponent");
  w.String(kFieldManager);
  w.Key("reportingInstance");
  WriteString(w, settings_.identity.substr(0, 128));
  w.Key("firstTimestamp");
  WriteString(w, now);
  w.Key("lastTimestamp");
  WriteString(w, now);
  w.Key("count");
  w.Int(1);
  w.EndObject();
  Result<kube::Response> response =
      client_->Request("POST", "/api/v1/namespaces/" + kube::QueryEscape(client.ns) + "/events",
                       std::string(buffer.GetString(), buffer.GetSize()));
  if (!response.ok() || response->status != 201) {
    metrics_->CountApiError();
    ops::Log().Warn("recording an Event failed",
                    {{"callbackclient", client.Key()}, {"error", HttpProblem(response)}});
  }
}

Result<milliseconds> Controller::Reconcile() {
  if (!leader_->IsLeader()) {
    return kStandbyPoll;
  }
  std::vector<CallbackClient> clients;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [ns, synced] : synced_) {
      if (!synced) {
        return milliseconds(500);
      }
    }
    for (const auto& [key, client] : cache_) {
      clients.push_back(client);
    }
  }
  Result<SecretIndex> secrets = FetchSecrets(clients);
  if (!secrets.ok()) {
    metrics_->CountReconcile(false);
    return secrets.error();
  }
  std::vector<const CallbackClient*> pointers;
  for (const CallbackClient& client : clients) {
    pointers.push_back(&client);
  }
  Rendering rendering = Render(pointers, *secrets, settings_.client_secrets_dir);
  if (!leader_->IsLeader()) {
    return kStandbyPoll;
  }
  // Key material first: a clients file never names a file its Secret does not hold yet.
  if (Status status = ApplyClientSecrets(rendering); !status.ok()) {
    metrics_->CountReconcile(false);
    return status.error();
  }
  bool wrote = false;
  Result<int64_t> revision = ApplyConfigMap(rendering, &wrote);
  if (!revision.ok()) {
    metrics_->CountReconcile(false);
    return revision.error();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    revision_ = *revision;
  }
  metrics_->SetRevision(*revision);
  UpdateFirstRevisions(clients, rendering, *revision);

  std::vector<ProcessorState> processors;
  std::vector<std::string> unreachable;
  bool discovery_failed = false;
  Result<std::vector<std::string>> urls = ProcessorUrls(client_, settings_);
  if (!urls.ok()) {
    discovery_failed = true;
    metrics_->CountApiError();
    ops::Log().Warn("finding the processor pods failed", {{"error", urls.error().message}});
  } else {
    for (const std::string& url : *urls) {
      Result<ProcessorState> state = FetchProcessorState(url, kProcessorTimeout);
      if (state.ok()) {
        processors.push_back(std::move(state).value());
      } else {
        unreachable.push_back(url);
        ops::Log().Debug("processor /status unavailable", {{"error", state.error().message}});
      }
    }
  }

  int ready = 0;
  int pending = 0;
  int invalid = 0;
  Status failed;
  for (const CallbackClient& client : clients) {
    if (!leader_->IsLeader()) {
      return kStandbyPoll;
    }
    const Outcome& outcome = rendering.outcomes.at(client.Key());
    Desired desired = Decide(client, outcome, processors, unreachable, discovery_failed);
    if (desired.status == "True") {
      ++ready;
    } else if (outcome.verdict == Verdict::kValid || outcome.verdict == Verdict::kSecretNotFound) {
      ++pending;
    } else {
      ++invalid;
    }
    if (Status status = WriteStatus(client, desired); !status.ok()) {
      ops::Log().Warn("status update failed", {{"error", status.error().message}});
      failed = status;
    }
  }
  metrics_->SetClients(ready, pending, invalid);
  metrics_->CountReconcile(failed.ok());
  if (!failed.ok()) {
    return failed.error();
  }
  return pending > 0 ? kFastPoll : std::chrono::duration_cast<milliseconds>(settings_.resync);
}

// ---- probes -----------------------------------------------------------------------------------

ops::Probe Controller::Live() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::chrono::steady_clock::now() - last_pass_ > kStalledLoop) {
    return {false, "reconcile loop stalled"};
  }
  return {true, ""};
}

ops::Probe Controller::Ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [ns, synced] : synced_) {
    if (!synced) {
      return {false, "CallbackClients of namespace " + ns + " not listed yet"};
    }
  }
  return {true, leader_->IsLeader() ? "leader" : "standby"};
}

std::string Controller::StatusJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("identity");
  WriteString(w, settings_.identity);
  w.Key("leader");
  w.Bool(leader_->IsLeader());
  w.Key("clients_revision");
  w.Int64(revision_);
  w.Key("callbackclients");
  w.Uint64(cache_.size());
  w.Key("namespaces");
  w.StartArray();
  for (const auto& [ns, synced] : synced_) {
    w.StartObject();
    w.Key("name");
    WriteString(w, ns);
    w.Key("synced");
    w.Bool(synced);
    w.EndObject();
  }
  w.EndArray();
  w.Key("last_error");
  WriteString(w, last_error_);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace anchor_events::control
