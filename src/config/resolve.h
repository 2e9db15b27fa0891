// Precedence between the sources: for each setting, the value that wins (environment over
// YAML file over default), with conflicting spellings and unparsable values reported.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "config/sources.h"

namespace anchor_events::config {

struct Resolved {
  Value value;
  const Entry* entry = nullptr;  // points into the entries given to ResolveEntries
};

class ResolvedSettings {
 public:
  // Picks the winner of every setting in `entries`, which must outlive this object.
  ResolvedSettings(const std::vector<Entry>& entries, std::vector<std::string>* problems);

  // The winning value at canonical `path`; nullptr when only the default applies.
  const Resolved* TryFind(std::string_view path) const;
  // Where the value at canonical `path` was written, for messages; "<path> (default)" when
  // it was not.
  std::string Where(std::string_view path) const;
  // Sets every winning value into `config` (which should hold the defaults already).
  void ApplyTo(Config* config) const;
  // True when a value for canonical `path` was written but was invalid or conflicting; rules
  // that depend on it stay quiet rather than report a second, misleading problem.
  bool Failed(std::string_view path) const;
  // Absolute paths of the secret files the winning values were read from.
  std::vector<std::string> SecretFiles() const;

 private:
  void ResolveSetting(const Setting& setting, const std::vector<const Entry*>& entries,
                      std::vector<std::string>* problems);

  std::map<std::string, Resolved, std::less<>> by_path_;
  std::set<std::string, std::less<>> failed_;
};

// Sets every setting's documented default into `config`.
void ApplyDefaults(Config* config);

}  // namespace anchor_events::config
