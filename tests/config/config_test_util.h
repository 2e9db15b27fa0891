// Helpers for the config tests: a per-test temporary directory, file writing, loading with
// collected errors, and reading dev.env.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "config/loader.h"
#include "test_data.h"

namespace anchor_events::config::testing {

// Settings every load needs unless a test is about them.
inline std::map<std::string, std::string> MinimalEnv() {
  return {{"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER", "localhost:9092"}};
}

// The dev.env file as an environment map (KEY=VALUE lines, '#' comments).
inline std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> env;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    size_t equals = line.find('=');
    if (line.empty() || line[0] == '#' || equals == std::string::npos) {
      continue;
    }
    env[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return env;
}

// A fixture with a fresh directory per test and a Load() that keeps the problems.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("anchor-events-config-" + std::string(info->test_suite_name()) + "-" + info->name() +
            "-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` to `name` under the test directory; returns the absolute path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  Result<LoadedConfig> LoadWith(const std::string& yaml, std::map<std::string, std::string> env) {
    std::string path = yaml.empty() ? "" : WriteFile("config.yaml", yaml);
    errors_ = {};
    return Load(LoadInput{path, std::move(env)}, &errors_);
  }

  // True when exactly one collected problem contains every one of `parts`.
  bool HasProblem(std::initializer_list<std::string> parts) const {
    int matches = 0;
    for (const std::string& problem : errors_.problems) {
      bool all = true;
      for (const std::string& part : parts) {
        all = all && problem.find(part) != std::string::npos;
      }
      matches += all ? 1 : 0;
    }
    return matches == 1;
  }

  std::string Problems() const { return errors_.Joined(); }

  std::filesystem::path dir_;
  ConfigErrors errors_;
};

}  // namespace anchor_events::config::testing
