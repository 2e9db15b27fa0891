// The table of every known setting (SPEC §7): canonical dotted path, accepted alias paths, type,
// default, description and where it lands in Config. The loader, the docs and Describe() all
// read this one table.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace anchor_events::config {

enum class SettingType {
  kBool,         // exactly "true" or "false"
  kInt,          // decimal integer within [min, max]
  kString,       // free text without control characters
  kEnum,         // one of `choices`, matched case-insensitively, stored canonical
  kUrl,          // absolute http(s) URL without userinfo; empty means unset
  kSecret,       // text never shown; may also come from "<key>_file" / "<ENV>_FILE"
  kPath,         // a file path; relative paths resolve against the config file's directory
  kHeaderName,   // an RFC 7230 token
  kStringList,   // YAML sequence, or comma-separated text
  kStringMap,    // YAML mapping, or comma-separated KEY=VALUE pairs
  kDocument,     // clients.value: a file path or a whole YAML/JSON document (may span lines)
  kClientItems,  // clients.items: the YAML sequence of client items (YAML only)
};

using Value = std::variant<bool, int64_t, std::string, std::vector<std::string>,
                           std::map<std::string, std::string>>;

struct Setting {
  std::string path;                  // canonical dotted path
  std::vector<std::string> aliases;  // other accepted paths (YAML and, upper-cased, env)
  SettingType type = SettingType::kString;
  int64_t min = 0;  // kInt only
  int64_t max = 0;
  std::vector<std::string> choices;  // kEnum only
  std::string default_text;          // as it would be written in env
  std::string description;           // one line, for the docs
  std::string hint;                  // appended to this setting's value errors
  // Checks a parsed value beyond its type; returns the cause of a problem or "".
  std::function<std::string(const Value&)> check;
  // Where the value lands; both empty for load-time settings (clients.*).
  std::function<void(Config&, const Value&)> set;
  std::function<Value(const Config&)> get;

  bool secret() const { return type == SettingType::kSecret; }
};

// One accepted spelling of a setting, as found by path or by env var name.
struct Spelling {
  const Setting* setting = nullptr;
  std::string path;   // the spelling's dotted path (canonical or alias), without "_file"
  bool file = false;  // "<path>_file" / "<ENV>_FILE": the value is a file to read
};

// Builds the table (schema_table.cc); Settings() holds the one instance.
std::vector<Setting> BuildSettingsTable();
// The event.* rows of the table (schema_kafka.cc).
std::vector<Setting> KafkaSettingsTable();

// The env var name of a dotted path: upper-cased, '.' and '-' turned into '_'.
std::string EnvName(std::string_view path);

// Every known setting, in documentation order. Built once; never changes.
const std::vector<Setting>& Settings();

// The setting at canonical `path`; aborts if there is none (a programming error).
const Setting& SettingAt(std::string_view path);

std::optional<Spelling> TryFindByPath(std::string_view path);
std::optional<Spelling> TryFindByEnv(std::string_view name);

// True when `path` is a mapping that holds settings (for example "event.queue").
bool IsSectionPath(std::string_view path);

// A known spelling whose last part equals the last part of `path`, for "did you mean" hints.
std::optional<std::string> TrySuggestPath(std::string_view path);

}  // namespace anchor_events::config
