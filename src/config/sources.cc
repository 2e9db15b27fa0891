#include "config/sources.h"

#include "config/yaml_util.h"

namespace anchor_events::config {
namespace {

struct FileContext {
  std::string source;  // the config file as given, for messages
  std::string dir;     // its absolute directory
  std::vector<Entry>* entries;
  std::vector<std::string>* problems;
};

// Secret files hold the value and, usually, a trailing newline that is not part of it.
std::string StripTrailingNewlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

bool ReadSecretFile(const std::string& written, const std::string& base_dir, Entry* entry,
                    std::vector<std::string>* problems) {
  entry->file = AbsolutePath(written, base_dir);
  Result<std::string> text = ReadTextFile(entry->file, "secret file");
  if (!text.ok()) {
    problems->push_back("reading secret file for " + entry->where + ": " + text.error().message);
    return false;
  }
  entry->raw = StripTrailingNewlines(std::move(text).value());
  return true;
}

void AddFileLeaf(const Spelling& spelling, const std::string& key, const std::string& where,
                 const YAML::Node& value, const FileContext& context) {
  Entry entry{spelling, Level::kFile, where, {}, {}, context.dir, {}};
  if (spelling.setting->type == SettingType::kClientItems) {
    entry.node = value;
  } else if (spelling.file) {
    if (!value.IsScalar()) {
      context.problems->push_back("invalid setting for " + entry.where + ": expected a file path");
      return;
    }
    if (!ReadSecretFile(value.Scalar(), context.dir, &entry, context.problems)) {
      return;
    }
  } else {
    std::optional<RawValue> raw = ToRawValue(value, key, context.source, context.problems);
    if (!raw) {
      return;
    }
    entry.raw = std::move(*raw);
  }
  context.entries->push_back(std::move(entry));
}

void WalkMapping(const YAML::Node& map, const std::string& prefix, const FileContext& context) {
  ForEachUniqueKey(
      map, prefix, context.source, context.problems,
      [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) {
        std::string path = JoinKey(prefix, name);
        std::string where = path + " (" + Location(context.source, key) + ")";
        if (std::optional<Spelling> spelling = TryFindByPath(path)) {
          if (!value.IsNull()) {
            AddFileLeaf(*spelling, path, where, value, context);
          }
        } else if (IsSectionPath(path)) {
          if (value.IsMap()) {
            WalkMapping(value, path, context);
          } else if (!value.IsNull()) {
            context.problems->push_back("invalid section for " + where +
                                        ": expected a mapping of settings");
          }
        } else {
          std::optional<std::string> suggestion = TrySuggestPath(path);
          context.problems->push_back(
              "unknown key for " + where + ": not a setting" +
              (suggestion ? "; hint: did you mean " + *suggestion + "?" : std::string()));
        }
      });
}

}  // namespace

void ReadConfigFile(const std::string& path, std::vector<Entry>* entries,
                    std::vector<std::string>* problems) {
  Result<std::string> text = ReadTextFile(path, "config file");
  if (!text.ok()) {
    problems->push_back(text.error().message);
    return;
  }
  Result<YAML::Node> root = ParseYaml(*text, path);
  if (!root.ok()) {
    problems->push_back(root.error().message);
    return;
  }
  if (root->IsNull()) {
    return;
  }
  if (!root->IsMap()) {
    problems->push_back("invalid config file for " + path + ": the top level must be a mapping");
    return;
  }
  WalkMapping(*root, "", FileContext{path, DirectoryOf(path), entries, problems});
}

void ReadEnvironment(const std::map<std::string, std::string>& env, std::vector<Entry>* entries,
                     std::vector<std::string>* problems) {
  for (const auto& [name, value] : env) {
    std::optional<Spelling> spelling = TryFindByEnv(name);
    if (!spelling || value.empty()) {
      continue;
    }
    Entry entry{*spelling, Level::kEnv, "env " + name, value, {}, {}, {}};
    if (spelling->setting->type == SettingType::kClientItems) {
      problems->push_back("invalid setting for env " + name +
                          ": clients.items can only be written in the YAML file; hint: use "
                          "CLIENTS_TYPE=yaml with the document in CLIENTS_VALUE");
      continue;
    }
    if (spelling->file && !ReadSecretFile(value, "", &entry, problems)) {
      continue;
    }
    entries->push_back(std::move(entry));
  }
}

}  // namespace anchor_events::config
