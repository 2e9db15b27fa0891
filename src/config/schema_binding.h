// Helpers that bind a row of the settings table to a Config field, so the table stays one
// line of intent per setting. Used only by the table sources.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/schema.h"

namespace anchor_events::config::binding {

inline constexpr int64_t kInt32Max = 2147483647;

// Value <-> field conversions, one overload per field type.
inline void Assign(bool* out, const Value& v) { *out = std::get<bool>(v); }
inline void Assign(int* out, const Value& v) { *out = static_cast<int>(std::get<int64_t>(v)); }
inline void Assign(int64_t* out, const Value& v) { *out = std::get<int64_t>(v); }
inline void Assign(std::string* out, const Value& v) { *out = std::get<std::string>(v); }
inline void Assign(std::chrono::milliseconds* out, const Value& v) {
  *out = std::chrono::milliseconds(std::get<int64_t>(v));
}
inline void Assign(std::chrono::seconds* out, const Value& v) {
  *out = std::chrono::seconds(std::get<int64_t>(v));
}
inline void Assign(std::vector<std::string>* out, const Value& v) {
  *out = std::get<std::vector<std::string>>(v);
}
inline void Assign(std::map<std::string, std::string>* out, const Value& v) {
  *out = std::get<std::map<std::string, std::string>>(v);
}
void Assign(AuthType* out, const Value& v);
void Assign(StartOffset* out, const Value& v);

inline Value ToValue(bool v) { return v; }
inline Value ToValue(int v) { return static_cast<int64_t>(v); }
inline Value ToValue(int64_t v) { return v; }
inline Value ToValue(const std::string& v) { return v; }
inline Value ToValue(std::chrono::milliseconds v) { return static_cast<int64_t>(v.count()); }
inline Value ToValue(std::chrono::seconds v) { return static_cast<int64_t>(v.count()); }
inline Value ToValue(const std::vector<std::string>& v) { return v; }
inline Value ToValue(const std::map<std::string, std::string>& v) { return v; }
Value ToValue(AuthType v);
Value ToValue(StartOffset v);

// `field` is a generic lambda returning a reference to the field of a (const) Config.
template <typename Field>
Setting Bind(Setting setting, Field field) {
  setting.set = [field](Config& config, const Value& value) { Assign(&field(config), value); };
  setting.get = [field](const Config& config) { return ToValue(field(config)); };
  return setting;
}

inline Setting Row(std::string path, SettingType type, std::string default_text,
                   std::string description) {
  Setting setting;
  setting.path = std::move(path);
  setting.type = type;
  setting.default_text = std::move(default_text);
  setting.description = std::move(description);
  return setting;
}

inline Setting IntRow(std::string path, int64_t min, int64_t max, int64_t default_value,
                      std::string description) {
  Setting setting = Row(std::move(path), SettingType::kInt, std::to_string(default_value),
                        std::move(description));
  setting.min = min;
  setting.max = max;
  return setting;
}

inline Setting EnumRow(std::string path, std::vector<std::string> choices, std::string default_text,
                       std::string description) {
  Setting setting =
      Row(std::move(path), SettingType::kEnum, std::move(default_text), std::move(description));
  setting.choices = std::move(choices);
  return setting;
}

inline Setting WithAliases(Setting setting, std::vector<std::string> aliases) {
  setting.aliases = std::move(aliases);
  return setting;
}

inline Setting WithCheck(Setting setting, std::function<std::string(const Value&)> check,
                         std::string hint = "") {
  setting.check = std::move(check);
  setting.hint = std::move(hint);
  return setting;
}

}  // namespace anchor_events::config::binding
