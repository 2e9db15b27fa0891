#include "config/yaml_util.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace anchor_events::config {

Result<YAML::Node> ParseYaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error{"parsing YAML for " + source + ":" + std::to_string(e.mark.line + 1) + ": " +
                 e.msg};
  }
}

std::string Location(const std::string& source, const YAML::Node& node) {
  return source + ":" + std::to_string(node.Mark().line + 1);
}

std::string JoinKey(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::optional<RawValue> ToRawValue(const YAML::Node& node, const std::string& key,
                                   const std::string& source, std::vector<std::string>* problems) {
  std::string where = key + " (" + Location(source, node) + ")";
  if (node.IsScalar()) {
    return RawValue(node.Scalar());
  }
  size_t before = problems->size();
  if (node.IsSequence()) {
    std::vector<std::string> items;
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) {
        problems->push_back("invalid setting for " + where + ": list items must be plain values");
        return std::nullopt;
      }
      items.push_back(item.Scalar());
    }
    return RawValue(std::move(items));
  }
  std::map<std::string, std::string> pairs;
  ForEachUniqueKey(node, key, source, problems,
                   [&](const std::string& name, const YAML::Node&, const YAML::Node& value) {
                     if (!value.IsScalar()) {
                       problems->push_back("invalid setting for " + JoinKey(key, name) + " (" +
                                           Location(source, value) +
                                           "): mapping values must be plain values");
                       return;
                     }
                     pairs[name] = value.Scalar();
                   });
  if (problems->size() != before) {
    return std::nullopt;
  }
  return RawValue(std::move(pairs));
}

Result<std::string> ReadTextFile(const std::string& path, const std::string& what) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return Error{"reading " + what + " for " + path + ": is a directory"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"reading " + what + " for " + path + ": " + std::strerror(errno)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Error{"reading " + what + " for " + path + ": read error"};
  }
  return text.str();
}

std::string AbsolutePath(const std::string& path, const std::string& base_dir) {
  std::filesystem::path written(path);
  if (written.is_relative()) {
    std::filesystem::path base =
        base_dir.empty() ? std::filesystem::current_path() : std::filesystem::path(base_dir);
    written = base / written;
  }
  return written.lexically_normal().string();
}

std::string DirectoryOf(const std::string& path) {
  return std::filesystem::path(AbsolutePath(path, "")).parent_path().string();
}

}  // namespace anchor_events::config
