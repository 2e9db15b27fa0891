// Internal pieces of the clients document handling shared by the loader (inline items) and
// ParseClients (documents).
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace anchor_events::config {

// Parses the `items` sequence of a clients document, applying `lane_defaults` and validating
// each client and the set (unique names, no domain claimed twice). A null node is no clients.
// `items_key` names the sequence in messages ("items", or "clients.items" in the config file).
std::vector<ClientConfig> ParseClientItems(const YAML::Node& items, const std::string& items_key,
                                           const std::string& source,
                                           const LaneOptions& lane_defaults,
                                           std::vector<std::string>* problems);

// Checks a lane's retry policy, in-flight bound and timeout against the ranges of the
// event_processor.client_status_callback.* settings.
void ValidateLane(const LaneOptions& lane, const std::string& where,
                  std::vector<std::string>* problems);

}  // namespace anchor_events::config
