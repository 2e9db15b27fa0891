// Fuzzes the strkey decoder: no input crashes it, StrkeyProblem agrees with DecodeStrkey, and
// every key it accepts encodes back to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/strkey.h"

namespace {

void Check(std::string_view text, anchor_events::StrkeyVersion version) {
  auto decoded = anchor_events::DecodeStrkey(text, version);
  bool no_problem = anchor_events::StrkeyProblem(text, version).empty();
  if (decoded.ok() != no_problem) {
    std::abort();
  }
  if (decoded.ok() && anchor_events::EncodeStrkey(*decoded, version) != text) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(text, anchor_events::StrkeyVersion::kAccountId);
  Check(text, anchor_events::StrkeyVersion::kSeed);
  return 0;
}
