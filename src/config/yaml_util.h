// yaml-cpp helpers shared by the config file and the clients document: exception-free parsing,
// file:line locations, and duplicate-key detection (yaml-cpp 0.7 keeps duplicates silently).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/result.h"
#include "config/value.h"

namespace anchor_events::config {

// Parses a YAML (or JSON) document; `source` names it in the error.
Result<YAML::Node> ParseYaml(const std::string& text, const std::string& source);

// "source:line" of a node (lines counted from 1).
std::string Location(const std::string& source, const YAML::Node& node);

// Converts a leaf to a raw value: a scalar, a sequence of scalars or a mapping of scalars.
// Problems (nested structures, duplicate keys) are appended naming `key` and the location.
std::optional<RawValue> ToRawValue(const YAML::Node& node, const std::string& key,
                                   const std::string& source, std::vector<std::string>* problems);

// Calls `visit(key, key_node, value_node)` for each pair of `map` once, reporting duplicate and
// non-scalar keys (named "<prefix>.<key>") instead of visiting them.
template <typename Visit>
void ForEachUniqueKey(const YAML::Node& map, const std::string& prefix, const std::string& source,
                      std::vector<std::string>* problems, Visit visit);

// Reads a whole file; the error names the file and the system's cause.
Result<std::string> ReadTextFile(const std::string& path, const std::string& what);

// `path` made absolute against `base_dir` (the working directory when empty), normalised
// lexically; symlinks are kept so a watcher sees Kubernetes' ..data swaps.
std::string AbsolutePath(const std::string& path, const std::string& base_dir);

// The directory holding `path`, absolute.
std::string DirectoryOf(const std::string& path);

std::string JoinKey(const std::string& prefix, const std::string& key);

template <typename Visit>
void ForEachUniqueKey(const YAML::Node& map, const std::string& prefix, const std::string& source,
                      std::vector<std::string>* problems, Visit visit) {
  std::map<std::string, int> first_line;
  for (const auto& pair : map) {
    const YAML::Node& key = pair.first;
    int line = key.Mark().line + 1;
    if (!key.IsScalar()) {
      problems->push_back("invalid key for " + (prefix.empty() ? "the top level" : prefix) + " (" +
                          Location(source, key) + "): keys must be plain strings");
      continue;
    }
    std::string name = JoinKey(prefix, key.Scalar());
    if (auto [it, inserted] = first_line.emplace(key.Scalar(), line); !inserted) {
      problems->push_back("duplicate key for " + name + " (" + Location(source, key) +
                          "): already written at line " + std::to_string(it->second));
      continue;
    }
    visit(key.Scalar(), key, pair.second);
  }
}

}  // namespace anchor_events::config
