// Fuzzes the Kafka record parser: any byte string is an Event or a Poison, never a crash, and an
// Event always has the ordering key and the object its type names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "event/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view record(reinterpret_cast<const char*>(data), size);
  auto parsed = anchor_events::event::ParseEvent(record, 64 * 1024);

  if (const auto* event = std::get_if<anchor_events::event::Event>(&parsed)) {
    if (event->key.empty() || !event->Object().IsObject() || event->record_size != size) {
      std::abort();
    }
  } else {
    const auto& poison = std::get<anchor_events::event::Poison>(parsed);
    if (anchor_events::event::PoisonReasonLabel(poison.reason).empty()) {
      std::abort();
    }
  }
  return 0;
}
