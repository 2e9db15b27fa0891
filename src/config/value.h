// Parsing raw configuration text into the typed values of the settings table, and formatting
// them back for Describe().
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "config/schema.h"

namespace anchor_events::config {

// A value as read: a scalar (env, YAML scalar), a YAML sequence or a YAML mapping.
using RawValue =
    std::variant<std::string, std::vector<std::string>, std::map<std::string, std::string>>;

// Parses `raw` as `setting`'s type and runs its check. The error message is the cause only
// ("must be an integer from 1 to 10, got 'x'"); secrets are never echoed.
Result<Value> ParseValue(const Setting& setting, const RawValue& raw);

// The env-style text of a value: lists comma-joined, maps as KEY=VALUE pairs comma-joined.
std::string FormatValue(const Value& value);

// Parses "true"/"false" exactly; the error message is the cause only.
Result<bool> ParseBool(const std::string& text);

// Parses a decimal integer within [min, max]; the error message is the cause only.
Result<int64_t> ParseInt(const std::string& text, int64_t min, int64_t max);

// Splits comma-separated text into trimmed items; empty text is an empty list.
Result<std::vector<std::string>> SplitList(const std::string& text);

}  // namespace anchor_events::config
