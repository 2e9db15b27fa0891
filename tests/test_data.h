// Where the tests find ../shared/testdata and the built binary.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace anchor_events::testing {

inline std::string TestDataDir() {
  const char* dir = std::getenv("ANCHOR_EVENTS_TESTDATA");
  return dir != nullptr ? dir : "../shared/testdata";
}

inline std::string ReadTestFile(const std::string& relative) {
  std::ifstream in(TestDataDir() + "/" + relative, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace anchor_events::testing
