#include "app/config_source.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace anchor_events::app {

std::string ConfigPath(const Args& args) {
  if (std::optional<std::string> path = args.Get("config")) {
    return *path;
  }
  const char* env = std::getenv("STELLAR_ANCHOR_CONFIG");
  std::string path = env != nullptr ? env : "";
  // The Platform accepts "file:/path"; so do we.
  if (path.rfind("file:", 0) == 0) {
    path = path.substr(5);
  }
  return path;
}

std::optional<config::LoadedConfig> LoadConfigOrReport(const Args& args) {
  config::LoadInput input;
  input.config_path = ConfigPath(args);
  input.env = config::ProcessEnvironment();
  config::ConfigErrors errors;
  Result<config::LoadedConfig> loaded = config::Load(input, &errors);
  if (!loaded.ok()) {
    std::string text = errors.problems.empty() ? loaded.error().message : errors.Joined();
    std::fprintf(stderr, "%s\n", text.c_str());
    return std::nullopt;
  }
  return std::move(loaded).value();
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace anchor_events::app
