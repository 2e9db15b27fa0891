// The shared signing test vectors (testdata/signing-vectors.json), parsed once per test binary.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "test_data.h"

namespace anchor_events::signing::testing {

// The parsed vectors. A missing or unparsable file aborts: every test here depends on it.
inline const rapidjson::Document& SigningVectors() {
  static const rapidjson::Document* const vectors = [] {
    auto* doc = new rapidjson::Document();
    doc->Parse(anchor_events::testing::ReadTestFile("signing-vectors.json").c_str());
    if (doc->HasParseError() || !doc->IsObject()) {
      std::fprintf(stderr, "cannot parse signing-vectors.json under %s\n",
                   anchor_events::testing::TestDataDir().c_str());
      std::abort();
    }
    return doc;
  }();
  return *vectors;
}

inline std::string String(const rapidjson::Value& value, const char* member) {
  const rapidjson::Value& field = value[member];
  return std::string(field.GetString(), field.GetStringLength());
}

// The seed or account of a named key in "keys".
inline std::string KeyField(const std::string& key_name, const char* field) {
  return String(SigningVectors()["keys"][key_name.c_str()], field);
}

// Bytes from lower- or upper-case hex; the tests only pass well-formed input.
inline std::string HexToBytes(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

inline std::string BytesToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0F]);
  }
  return hex;
}

}  // namespace anchor_events::signing::testing
