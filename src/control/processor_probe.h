// What the operator learns from each processor's /status (SPEC §9, §10): the clients revision
// it has loaded, its lanes' consumer groups and whether its last reload was refused.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "control/settings.h"
#include "kube/client.h"

namespace anchor_events::control {

struct ProcessorState {
  std::string base_url;
  std::optional<int64_t> revision;  // none: the processor's clients file has no revision
  std::map<std::string, std::string> consumer_groups;  // lane name -> group id
  std::string reload_error;                            // empty when the last reload applied
};

// GETs `base_url`/status with a short deadline.
Result<ProcessorState> FetchProcessorState(const std::string& base_url,
                                           std::chrono::milliseconds timeout);

// The processors to ask: the configured URLs, or the ready endpoints of the processor Service's
// EndpointSlices (http://address:port).
Result<std::vector<std::string>> ProcessorUrls(kube::Client* client, const Settings& settings);

}  // namespace anchor_events::control
