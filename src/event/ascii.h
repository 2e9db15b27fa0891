// ASCII helpers for protocol words (event types, host names) that compare ignoring case.
#pragma once

#include <algorithm>
#include <string_view>

namespace anchor_events::event {

inline char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// True when `a` and `b` are equal ignoring ASCII letter case; other bytes compare exactly.
inline bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

}  // namespace anchor_events::event
