// How commands find and load their configuration.
#pragma once

#include <optional>
#include <string>

#include "app/args.h"
#include "config/loader.h"

namespace anchor_events::app {

// Loads from --config (or STELLAR_ANCHOR_CONFIG) and the process environment. On failure
// prints every problem to stderr and returns nothing.
std::optional<config::LoadedConfig> LoadConfigOrReport(const Args& args);

// The config file named by --config or STELLAR_ANCHOR_CONFIG, or empty.
std::string ConfigPath(const Args& args);

// Reads a whole file; nothing when it cannot be read.
std::optional<std::string> ReadFile(const std::string& path);

}  // namespace anchor_events::app
