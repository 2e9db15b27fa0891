// The sample Platform events shipped in examples/events/, compiled into the binary so the demo
// runs from any directory (and from the container image).
#pragma once

#include <string_view>
#include <vector>

namespace anchor_events::app {

struct DemoEventFile {
  std::string_view name;
  std::string_view content;  // one record value per line
};

// In publish order; poison.txt last.
const std::vector<DemoEventFile>& DemoEventFiles();

}  // namespace anchor_events::app
