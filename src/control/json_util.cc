#include "control/json_util.h"

#include <chrono>
#include <ctime>

#include <rapidjson/error/en.h>

namespace anchor_events::control {

Result<rapidjson::Document> ParseJson(std::string_view text, std::string_view what) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError()) {
    return Error{"parsing JSON failed for " + std::string(what) + ": " +
                 rapidjson::GetParseError_En(document.GetParseError()) + " at offset " +
                 std::to_string(document.GetErrorOffset())};
  }
  return document;
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) {
    return nullptr;
  }
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = Member(object, name);
  return value && value->IsString() ? std::string(value->GetString(), value->GetStringLength())
                                    : std::string();
}

std::optional<int64_t> IntMember(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = Member(object, name);
  if (value && value->IsInt64()) {
    return value->GetInt64();
  }
  return std::nullopt;
}

void WriteString(JsonWriter& writer, std::string_view value) {
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {

std::string Format(bool micro) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out(text, length);
  if (micro) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) %
              std::chrono::seconds(1);
    char fraction[16];
    std::snprintf(fraction, sizeof(fraction), ".%06lld", static_cast<long long>(us.count()));
    out += fraction;
  }
  return out + "Z";
}

}  // namespace

std::string NowRfc3339() { return Format(false); }
std::string NowRfc3339Micro() { return Format(true); }

}  // namespace anchor_events::control
