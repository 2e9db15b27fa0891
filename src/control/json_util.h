// RapidJSON helpers shared by the operator's sources: reading optional members without
// exceptions, and writing documents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/result.h"

namespace anchor_events::control {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

Result<rapidjson::Document> ParseJson(std::string_view text, std::string_view what);

// The member `name` of `object` when `object` is an object holding it, else null.
const rapidjson::Value* Member(const rapidjson::Value& object, const char* name);
std::string StringMember(const rapidjson::Value& object, const char* name);
std::optional<int64_t> IntMember(const rapidjson::Value& object, const char* name);

// Writes `value` as a JSON string.
void WriteString(JsonWriter& writer, std::string_view value);
std::string ToJson(const rapidjson::Value& value);

// "2026-12-04T19:00:00Z" (metav1.Time) and "2026-12-04T19:00:00.123456Z" (metav1.MicroTime).
std::string NowRfc3339();
std::string NowRfc3339Micro();

struct CallbackClient;
Result<CallbackClient> ParseCallbackClient(const rapidjson::Value& object);

}  // namespace anchor_events::control
