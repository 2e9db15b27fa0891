// The rules that span several settings (SPEC §7.4): what an enabled feature requires, auth
// secrets, Kafka security combinations, lane backoff order and readable files.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/resolve.h"

namespace anchor_events::config {

// Appends one problem per broken rule, naming the key and where its value was written.
void ValidateConfig(const Config& config, const ResolvedSettings& resolved,
                    std::vector<std::string>* problems);

}  // namespace anchor_events::config
