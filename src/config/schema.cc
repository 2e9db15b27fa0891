#include "config/schema.h"

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <set>

namespace anchor_events::config {
namespace {

constexpr std::string_view kEventPrefix = "event.";

struct Index {
  std::vector<Setting> settings;
  std::map<std::string, Spelling, std::less<>> by_path;
  std::map<std::string, Spelling, std::less<>> by_env;
  std::set<std::string, std::less<>> sections;
};

// Every path a setting answers to: the canonical one, its aliases, and the events.* form of
// each event.* path (the Platform's spelling).
std::vector<std::string> PathsOf(const Setting& setting) {
  std::vector<std::string> paths = {setting.path};
  paths.insert(paths.end(), setting.aliases.begin(), setting.aliases.end());
  size_t written = paths.size();
  for (size_t i = 0; i < written; ++i) {
    if (paths[i].rfind(kEventPrefix, 0) == 0) {
      paths.push_back("events." + paths[i].substr(kEventPrefix.size()));
    }
  }
  return paths;
}

template <typename Map>
void InsertUnique(Map* map, const std::string& key, Spelling spelling) {
  if (!map->emplace(key, std::move(spelling)).second) {
    std::cerr << "settings table: '" << key << "' is defined twice\n";
    std::abort();
  }
}

void AddSections(const std::string& path, std::set<std::string, std::less<>>* sections) {
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
    sections->insert(path.substr(0, dot));
  }
}

void IndexSetting(const Setting& setting, Index* index) {
  for (const std::string& path : PathsOf(setting)) {
    InsertUnique(&index->by_path, path, Spelling{&setting, path, false});
    InsertUnique(&index->by_env, EnvName(path), Spelling{&setting, path, false});
    if (setting.secret()) {
      InsertUnique(&index->by_path, path + "_file", Spelling{&setting, path, true});
      InsertUnique(&index->by_env, EnvName(path) + "_FILE", Spelling{&setting, path, true});
    }
    AddSections(path, &index->sections);
  }
}

const Index& TheIndex() {
  static const Index* index = [] {
    auto* built = new Index{BuildSettingsTable(), {}, {}, {}};
    for (const Setting& setting : built->settings) {
      IndexSetting(setting, built);
    }
    return built;
  }();
  return *index;
}

std::string LastPart(std::string_view path) {
  size_t dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

}  // namespace

std::string EnvName(std::string_view path) {
  std::string name;
  name.reserve(path.size());
  for (unsigned char c : path) {
    name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(c));
  }
  return name;
}

const std::vector<Setting>& Settings() { return TheIndex().settings; }

const Setting& SettingAt(std::string_view path) {
  auto found = TheIndex().by_path.find(path);
  if (found == TheIndex().by_path.end() || found->second.setting->path != path) {
    std::cerr << "settings table: no setting '" << path << "'\n";
    std::abort();
  }
  return *found->second.setting;
}

std::optional<Spelling> TryFindByPath(std::string_view path) {
  auto found = TheIndex().by_path.find(path);
  if (found == TheIndex().by_path.end()) {
    return std::nullopt;
  }
  return found->second;
}

std::optional<Spelling> TryFindByEnv(std::string_view name) {
  auto found = TheIndex().by_env.find(name);
  if (found == TheIndex().by_env.end()) {
    return std::nullopt;
  }
  return found->second;
}

bool IsSectionPath(std::string_view path) { return TheIndex().sections.contains(path); }

std::optional<std::string> TrySuggestPath(std::string_view path) {
  std::string last = LastPart(path);
  for (const Setting& setting : Settings()) {
    if (LastPart(setting.path) == last) {
      return setting.path;
    }
  }
  return std::nullopt;
}

}  // namespace anchor_events::config
