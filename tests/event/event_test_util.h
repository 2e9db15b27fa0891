// Helpers shared by the event module's tests: sample records and JSON comparison.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "event/event.h"
#include "test_data.h"

namespace anchor_events::event {

// The non-empty lines of a file under testdata/events/.
inline std::vector<std::string> ReadEventLines(const std::string& file) {
  std::istringstream in(testing::ReadTestFile("events/" + file));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

// Parses a record that must be a valid event; fails the test otherwise.
inline Event MustParse(std::string_view record) {
  ParseResult result = ParseEvent(record);
  if (const auto* poison = std::get_if<Poison>(&result)) {
    ADD_FAILURE() << "unexpected poison (" << PoisonReasonLabel(poison->reason)
                  << "): " << poison->detail << " in " << record;
    return Event{};
  }
  return std::get<Event>(std::move(result));
}

inline Event MustParseSample(const std::string& file, size_t index) {
  std::vector<std::string> lines = ReadEventLines(file);
  if (index >= lines.size()) {
    ADD_FAILURE() << file << " has no line " << index;
    return Event{};
  }
  return MustParse(lines[index]);
}

// Compares two JSON texts as values: member order and number spelling do not matter.
inline ::testing::AssertionResult JsonEquals(std::string_view actual, std::string_view expected) {
  rapidjson::Document a;
  rapidjson::Document e;
  a.Parse(actual.data(), actual.size());
  e.Parse(expected.data(), expected.size());
  if (a.HasParseError()) {
    return ::testing::AssertionFailure() << "actual is not JSON: " << actual;
  }
  if (e.HasParseError()) {
    return ::testing::AssertionFailure() << "expected is not JSON: " << expected;
  }
  if (a != e) {
    return ::testing::AssertionFailure()
           << "\n  actual:   " << actual << "\n  expected: " << expected;
  }
  return ::testing::AssertionSuccess();
}

// True when the object `object_name` in `json` (the root when "") has the member `member`.
inline bool HasMember(std::string_view json, const char* object_name, const char* member) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return false;
  }
  const rapidjson::Value* object = &doc;
  if (object_name[0] != '\0') {
    auto it = doc.FindMember(object_name);
    if (it == doc.MemberEnd()) {
      return false;
    }
    object = &it->value;
  }
  return object->IsObject() && object->HasMember(member);
}

}  // namespace anchor_events::event
