#include "config/resolve.h"

#include <cstdlib>
#include <iostream>
#include <optional>

#include "config/yaml_util.h"

namespace anchor_events::config {
namespace {

std::optional<Value> ParseEntry(const Entry& entry, std::vector<std::string>* problems) {
  const Setting& setting = *entry.spelling.setting;
  if (setting.type == SettingType::kClientItems) {
    return Value(std::string());
  }
  Result<Value> value = ParseValue(setting, entry.raw);
  if (!value.ok()) {
    problems->push_back("invalid setting for " + entry.where + ": " + value.error().message);
    return std::nullopt;
  }
  if (setting.type == SettingType::kPath && !std::get<std::string>(*value).empty()) {
    return Value(AbsolutePath(std::get<std::string>(*value), entry.base_dir));
  }
  return value.value();
}

// Two entries of one setting conflict when they are the same spelling at the same level (X and
// X_FILE) or different spellings with different values, wherever each was written.
void CheckConflict(const Entry& a, const std::optional<Value>& a_value, const Entry& b,
                   const std::optional<Value>& b_value, std::vector<std::string>* problems) {
  const std::string& key = a.spelling.setting->path;
  if (a.spelling.path == b.spelling.path) {
    if (a.level == b.level) {
      problems->push_back("conflicting settings for " + key + ": " + a.where + " and " + b.where +
                          " are both set; hint: set only one of them");
    }
    return;
  }
  if (a_value && b_value && *a_value != *b_value) {
    problems->push_back("conflicting settings for " + key + ": " + a.where + " and " + b.where +
                        " set different values; hint: set only one spelling");
  }
}

}  // namespace

ResolvedSettings::ResolvedSettings(const std::vector<Entry>& entries,
                                   std::vector<std::string>* problems) {
  std::map<const Setting*, std::vector<const Entry*>> grouped;
  for (const Entry& entry : entries) {
    grouped[entry.spelling.setting].push_back(&entry);
  }
  for (const Setting& setting : Settings()) {
    if (auto found = grouped.find(&setting); found != grouped.end()) {
      ResolveSetting(setting, found->second, problems);
    }
  }
}

void ResolvedSettings::ResolveSetting(const Setting& setting,
                                      const std::vector<const Entry*>& entries,
                                      std::vector<std::string>* problems) {
  size_t before = problems->size();
  std::vector<std::optional<Value>> values;
  for (const Entry* entry : entries) {
    values.push_back(ParseEntry(*entry, problems));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    for (size_t j = i + 1; j < entries.size(); ++j) {
      CheckConflict(*entries[i], values[i], *entries[j], values[j], problems);
    }
  }
  if (problems->size() != before) {
    failed_.insert(setting.path);
    return;
  }
  size_t winner = 0;
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i]->level >= entries[winner]->level) {
      winner = i;
    }
  }
  by_path_[setting.path] = Resolved{*values[winner], entries[winner]};
}

const Resolved* ResolvedSettings::TryFind(std::string_view path) const {
  auto found = by_path_.find(path);
  return found == by_path_.end() ? nullptr : &found->second;
}

bool ResolvedSettings::Failed(std::string_view path) const { return failed_.contains(path); }

std::string ResolvedSettings::Where(std::string_view path) const {
  const Resolved* resolved = TryFind(path);
  return resolved != nullptr ? resolved->entry->where : std::string(path) + " (default)";
}

void ResolvedSettings::ApplyTo(Config* config) const {
  for (const auto& [path, resolved] : by_path_) {
    const Setting& setting = *resolved.entry->spelling.setting;
    if (setting.set) {
      setting.set(*config, resolved.value);
    }
  }
}

std::vector<std::string> ResolvedSettings::SecretFiles() const {
  std::vector<std::string> files;
  for (const Setting& setting : Settings()) {
    const Resolved* resolved = TryFind(setting.path);
    if (resolved != nullptr && !resolved->entry->file.empty()) {
      files.push_back(resolved->entry->file);
    }
  }
  return files;
}

void ApplyDefaults(Config* config) {
  for (const Setting& setting : Settings()) {
    if (!setting.set) {
      continue;
    }
    Result<Value> value = ParseValue(setting, setting.default_text);
    if (!value.ok()) {
      std::cerr << "settings table: bad default of " << setting.path << ": "
                << value.error().message << "\n";
      std::abort();
    }
    setting.set(*config, *value);
  }
}

}  // namespace anchor_events::config
