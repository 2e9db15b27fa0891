// Fuzzes the configuration loader with input "<YAML file>" or "<YAML file>\n%%\n<KEY=VALUE lines>"
// (the environment). A load either succeeds with no problem listed or fails listing at least one,
// and the redacted description of a loaded configuration never depends on a secret's value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include <unistd.h>

#include "config/loader.h"
#include "config/schema.h"

namespace {

constexpr std::string_view kEnvSeparator = "\n%%\n";

std::map<std::string, std::string> ParseEnv(std::string_view text) {
  std::map<std::string, std::string> env;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    size_t equals = line.find('=');
    if (equals != std::string_view::npos) {
      env[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
    }
  }
  return env;
}

// A private folder for the config file, so relative clients files resolve inside it; removed at
// exit.
class ConfigFolder {
 public:
  ConfigFolder() {
    std::string folder = std::filesystem::temp_directory_path() / "ae-config-fuzz-XXXXXX";
    if (mkdtemp(folder.data()) == nullptr) {
      std::abort();
    }
    folder_ = folder;
  }
  ~ConfigFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
  std::string ConfigPath() const { return folder_ / "config.yaml"; }

 private:
  std::filesystem::path folder_;
};

const std::string& ConfigPath() {
  static const ConfigFolder folder;
  static const std::string path = folder.ConfigPath();
  return path;
}

// Every secret setting of the table replaced by another non-empty value of the same emptiness.
anchor_events::config::Config WithOtherSecrets(anchor_events::config::Config config) {
  for (const anchor_events::config::Setting& setting : anchor_events::config::Settings()) {
    if (setting.secret() && setting.get && setting.set &&
        !std::get<std::string>(setting.get(config)).empty()) {
      setting.set(config, anchor_events::config::Value(std::string("other-secret-value")));
    }
  }
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t separator = input.find(kEnvSeparator);
  anchor_events::config::LoadInput load_input;
  load_input.config_path = ConfigPath();
  if (separator != std::string_view::npos) {
    load_input.env = ParseEnv(input.substr(separator + kEnvSeparator.size()));
  }
  std::ofstream(ConfigPath(), std::ios::binary | std::ios::trunc) << input.substr(0, separator);

  anchor_events::config::ConfigErrors errors;
  auto loaded = anchor_events::config::Load(load_input, &errors);

  if (loaded.ok() != errors.problems.empty()) {
    std::abort();
  }
  if (loaded.ok() && anchor_events::config::Describe(loaded->config) !=
                         anchor_events::config::Describe(WithOtherSecrets(loaded->config))) {
    std::abort();
  }
  return 0;
}
