// The running processor: configuration, lanes, the management server, and reloads when the
// configuration's files change. Used by `run` and `demo`.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "config/loader.h"
#include "delivery/processor.h"
#include "ops/management_server.h"
#include "ops/metrics.h"

namespace anchor_events::app {

class Service {
 public:
  // `reload_input` is what a reload loads again (the same file and environment).
  Service(config::LoadedConfig loaded, config::LoadInput reload_input);
  ~Service();

  // Starts the management server and the lanes. On error nothing keeps running.
  Status Start();
  // Reloads when a watched file changed; a failed reload keeps the running configuration.
  void CheckForChanges();
  // Loads and applies the configuration again, now.
  void Reload(const std::string& why);
  // Stops fetching, lets in-flight attempts finish within the grace period, commits.
  void Shutdown();

  int management_port() const;
  delivery::Processor& processor() { return *processor_; }
  ops::Metrics& metrics() { return metrics_; }

 private:
  std::vector<std::string> WatchedFiles() const;
  std::string Fingerprint() const;
  static void ApplyLogLevel(const config::Config& config);
  void ReloadFailed(const std::string& why, const std::string& error);
  void WarnAboutRestartOnlySettings(const config::Config& next) const;

  config::LoadedConfig loaded_;
  config::LoadInput reload_input_;
  ops::Metrics metrics_;
  std::unique_ptr<delivery::Processor> processor_;
  std::unique_ptr<ops::ManagementServer> server_;
  std::string watched_fingerprint_;
  // Files named by the last refused reload and not by the running configuration.
  std::vector<std::string> refused_files_;
};

}  // namespace anchor_events::app
