#include "config/value.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/url.h"
#include "config/checks.h"

namespace anchor_events::config {
namespace {

constexpr size_t kEchoLimit = 80;

std::string Echo(const std::string& text) {
  if (text.size() > kEchoLimit) {
    return "'" + text.substr(0, kEchoLimit) + "...'";
  }
  return "'" + text + "'";
}

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    return "";
  }
  size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Result<std::string> RequireScalar(const RawValue& raw) {
  if (const auto* text = std::get_if<std::string>(&raw)) {
    return *text;
  }
  return Error{std::holds_alternative<std::vector<std::string>>(raw)
                   ? "expected a single value, got a list"
                   : "expected a single value, got a mapping"};
}

Result<Value> ParseEnum(const Setting& setting, const std::string& text) {
  if (text.empty() && setting.default_text.empty()) {
    return Value(std::string());
  }
  for (const std::string& choice : setting.choices) {
    if (Lower(choice) == Lower(text)) {
      return Value(choice);
    }
  }
  std::string list;
  for (const std::string& choice : setting.choices) {
    list += (list.empty() ? "" : ", ") + choice;
  }
  return Error{"must be one of " + list + ", got " + Echo(text)};
}

Result<Value> ParseText(const Setting& setting, const std::string& text) {
  if (setting.type != SettingType::kDocument && HasControlCharacter(text)) {
    return Error{"must not contain control characters such as CR or LF"};
  }
  if (setting.type == SettingType::kUrl && !text.empty()) {
    if (Result<Url> url = ParseUrl(text); !url.ok()) {
      return url.error();
    }
  }
  if (setting.type == SettingType::kHeaderName) {
    if (std::string problem = HeaderNameProblem(text); !problem.empty()) {
      return Error{problem};
    }
  }
  return Value(text);
}

Result<Value> ParseScalar(const Setting& setting, const std::string& text) {
  switch (setting.type) {
    case SettingType::kBool: {
      Result<bool> flag = ParseBool(text);
      return flag.ok() ? Result<Value>(Value(*flag)) : Result<Value>(flag.error());
    }
    case SettingType::kInt: {
      Result<int64_t> number = ParseInt(text, setting.min, setting.max);
      return number.ok() ? Result<Value>(Value(*number)) : Result<Value>(number.error());
    }
    case SettingType::kEnum:
      return ParseEnum(setting, text);
    default:
      return ParseText(setting, text);
  }
}

Result<Value> ParseList(const RawValue& raw) {
  std::vector<std::string> items;
  if (const auto* text = std::get_if<std::string>(&raw)) {
    Result<std::vector<std::string>> split = SplitList(*text);
    if (!split.ok()) {
      return split.error();
    }
    items = std::move(split).value();
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&raw)) {
    items = *list;
  } else {
    return Error{"expected a list, got a mapping"};
  }
  for (const std::string& item : items) {
    if (item.empty() || HasControlCharacter(item)) {
      return Error{"list items must be non-empty and free of control characters"};
    }
  }
  return Value(std::move(items));
}

Result<Value> ParseMap(const RawValue& raw) {
  std::map<std::string, std::string> pairs;
  if (const auto* map = std::get_if<std::map<std::string, std::string>>(&raw)) {
    pairs = *map;
  } else if (const auto* text = std::get_if<std::string>(&raw)) {
    Result<std::vector<std::string>> items = SplitList(*text);
    if (!items.ok()) {
      return items.error();
    }
    for (const std::string& item : *items) {
      size_t equals = item.find('=');
      if (equals == std::string::npos || equals == 0) {
        return Error{"expected KEY=VALUE pairs separated by commas, got " + Echo(item)};
      }
      std::string key = Trim(item.substr(0, equals));
      if (!pairs.emplace(key, Trim(item.substr(equals + 1))).second) {
        return Error{"key '" + key + "' is given twice"};
      }
    }
  } else {
    return Error{"expected a mapping, got a list"};
  }
  for (const auto& [key, value] : pairs) {
    if (key.empty() || HasControlCharacter(key) || HasControlCharacter(value)) {
      return Error{"keys must be non-empty and keys and values free of control characters"};
    }
  }
  return Value(std::move(pairs));
}

Result<Value> ParseTyped(const Setting& setting, const RawValue& raw) {
  if (setting.type == SettingType::kStringList) {
    return ParseList(raw);
  }
  if (setting.type == SettingType::kStringMap) {
    return ParseMap(raw);
  }
  Result<std::string> text = RequireScalar(raw);
  if (!text.ok()) {
    return text.error();
  }
  return ParseScalar(setting, *text);
}

}  // namespace

Result<bool> ParseBool(const std::string& text) {
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  return Error{"must be true or false, got " + Echo(text)};
}

Result<int64_t> ParseInt(const std::string& text, int64_t min, int64_t max) {
  int64_t number = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, number);
  if (text.empty() || ec != std::errc() || ptr != end || number < min || number > max) {
    return Error{"must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                 ", got " + Echo(text)};
  }
  return number;
}

Result<std::vector<std::string>> SplitList(const std::string& text) {
  std::vector<std::string> items;
  if (Trim(text).empty()) {
    return items;
  }
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = Trim(std::string_view(text).substr(start, comma - start));
    if (item.empty()) {
      return Error{"comma-separated list has an empty item"};
    }
    items.push_back(std::move(item));
    if (comma == std::string::npos) {
      return items;
    }
    start = comma + 1;
  }
}

Result<Value> ParseValue(const Setting& setting, const RawValue& raw) {
  Result<Value> value = ParseTyped(setting, raw);
  if (value.ok() && setting.check) {
    if (std::string problem = setting.check(*value); !problem.empty()) {
      value = Error{problem};
    }
  }
  if (!value.ok() && !setting.hint.empty()) {
    return Error{value.error().message + "; hint: " + setting.hint};
  }
  return value;
}

std::string FormatValue(const Value& value) {
  if (const bool* flag = std::get_if<bool>(&value)) {
    return *flag ? "true" : "false";
  }
  if (const int64_t* number = std::get_if<int64_t>(&value)) {
    return std::to_string(*number);
  }
  if (const auto* text = std::get_if<std::string>(&value)) {
    return *text;
  }
  std::string out;
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    for (const std::string& item : *list) {
      out += (out.empty() ? "" : ",") + item;
    }
    return out;
  }
  for (const auto& [key, item] : std::get<std::map<std::string, std::string>>(value)) {
    out += (out.empty() ? "" : ",") + key + "=" + item;
  }
  return out;
}

}  // namespace anchor_events::config
