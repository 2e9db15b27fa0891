// Reading settings from the YAML file and from the environment into entries, each naming the
// spelling it used and where it was written, before any precedence or validation.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/schema.h"
#include "config/value.h"

namespace anchor_events::config {

enum class Level { kFile = 1, kEnv = 2 };  // higher wins

struct Entry {
  Spelling spelling;
  Level level = Level::kFile;
  std::string where;  // "callback_api.secret (/etc/ae/config.yaml:4)" or "env CALLBACK_API_SECRET"
  RawValue raw;
  std::string file;      // absolute path when the value was read from a *_file secret
  std::string base_dir;  // where relative paths in the value resolve; empty: working directory
  YAML::Node node;       // clients.items only
};

// Reads the YAML config file at `path`. Unknown keys, duplicate keys and unreadable secret
// files are appended to `problems`, each with file:line.
void ReadConfigFile(const std::string& path, std::vector<Entry>* entries,
                    std::vector<std::string>* problems);

// Reads the variables of `env` that name a setting; others are ignored (the Platform's
// environment holds many). An empty variable counts as unset.
void ReadEnvironment(const std::map<std::string, std::string>& env, std::vector<Entry>* entries,
                     std::vector<std::string>* problems);

}  // namespace anchor_events::config
