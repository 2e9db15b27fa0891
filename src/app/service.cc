#include "app/service.h"

#include <algorithm>

#include <sys/stat.h>

#include "app/config_source.h"
#include "ops/log.h"

namespace anchor_events::app {

Service::Service(config::LoadedConfig loaded, config::LoadInput reload_input)
    : loaded_(std::move(loaded)), reload_input_(std::move(reload_input)) {
  processor_ = std::make_unique<delivery::Processor>(&metrics_, &Clock::Real());
}

Service::~Service() { Shutdown(); }

Status Service::Start() {
  const config::Config& config = loaded_.config;
  ApplyLogLevel(config);
  for (const std::string& warning : loaded_.warnings) {
    ops::Log().Warn("unknown setting ignored", {{"error", warning}});
  }

  ops::ManagementHandlers handlers;
  handlers.metrics = [this] { return metrics_.Serialize(); };
  handlers.live = [this] { return processor_->Live(); };
  handlers.ready = [this] { return processor_->Ready(); };
  handlers.status = [this] { return processor_->StatusJson(); };
  server_ = std::make_unique<ops::ManagementServer>(config.management_server_address,
                                                    config.management_server_port, handlers);
  if (Status status = server_->Start(); !status.ok()) {
    return status;
  }
  ops::Log().Info("management server listening",
                  {{"address", config.management_server_address}, {"port", server_->port()}});
  if (Status status = processor_->Apply(config); !status.ok()) {
    return status;
  }
  metrics_.CountReload(true);
  processor_->RecordReload(true, "");
  watched_fingerprint_ = Fingerprint();
  ops::Log().Info("configuration loaded",
                  {{"generation", processor_->generation()},
                   {"clients", static_cast<int64_t>(config.clients.size())}});
  return {};
}

std::vector<std::string> Service::WatchedFiles() const {
  std::vector<std::string> files = loaded_.watched_files;
  files.insert(files.end(), refused_files_.begin(), refused_files_.end());
  if (!reload_input_.config_path.empty()) {
    files.push_back(reload_input_.config_path);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

std::string Service::Fingerprint() const {
  std::string out;
  for (const std::string& path : WatchedFiles()) {
    // Kubernetes swaps a ..data symlink: the content is what counts, not the inode.
    std::optional<std::string> content = ReadFile(path);
    out += path + '\0' + (content ? *content : std::string("<unreadable>")) + '\0';
  }
  return out;
}

void Service::CheckForChanges() {
  if (WatchedFiles().empty()) {
    return;
  }
  std::string now = Fingerprint();
  if (now != watched_fingerprint_) {
    watched_fingerprint_ = now;
    Reload("a watched file changed");
  }
}

void Service::Reload(const std::string& why) {
  config::ConfigErrors errors;
  Result<config::LoadedConfig> loaded = config::Load(reload_input_, &errors);
  if (!loaded.ok()) {
    refused_files_ = std::move(errors.watched_files);
    watched_fingerprint_ = Fingerprint();
    ReloadFailed(why, errors.problems.empty() ? loaded.error().message : errors.Joined());
    return;
  }
  if (Status status = processor_->Apply(loaded->config); !status.ok()) {
    ReloadFailed(why, status.error().message);
    return;
  }
  WarnAboutRestartOnlySettings(loaded->config);
  ApplyLogLevel(loaded->config);
  loaded_ = std::move(loaded).value();
  refused_files_.clear();
  watched_fingerprint_ = Fingerprint();
  metrics_.CountReload(true);
  processor_->RecordReload(true, "");
  ops::Log().Info("configuration reloaded",
                  {{"reason", why}, {"generation", processor_->generation()}});
}

void Service::ApplyLogLevel(const config::Config& config) {
  ops::LogLevel level = ops::LogLevel::kInfo;
  ops::ParseLogLevel(config.log_level, &level);
  ops::SetLogLevel(level);
}

void Service::ReloadFailed(const std::string& why, const std::string& error) {
  metrics_.CountReload(false);
  processor_->RecordReload(false, error);
  ops::Log().Error("configuration reload failed, keeping the running configuration",
                   {{"reason", why}, {"error", error}, {"generation", processor_->generation()}});
}

void Service::WarnAboutRestartOnlySettings(const config::Config& next) const {
  const config::Config& now = loaded_.config;
  if (next.management_server_port != now.management_server_port ||
      next.management_server_address != now.management_server_address) {
    ops::Log().Warn("management server settings changed; they take effect at the next restart");
  }
}

void Service::Shutdown() {
  if (processor_) {
    processor_->Shutdown(Clock::Real().Now() + loaded_.config.shutdown_grace);
  }
  if (server_) {
    server_->Stop();
    server_.reset();
  }
}

int Service::management_port() const { return server_ ? server_->port() : 0; }

}  // namespace anchor_events::app
