// Fuzzes the body mapper: every event the parser accepts maps to a business body and a wallet
// body that are valid JSON objects, for any more_info_url base.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <rapidjson/document.h>

#include "event/body.h"
#include "event/event.h"

namespace {

void RequireJsonObject(const std::string& body) {
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  if (document.HasParseError() || !document.IsObject()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first line is the more_info_url base, the rest the record.
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view base = newline == std::string_view::npos ? "" : input.substr(0, newline);
  std::string_view record = newline == std::string_view::npos ? input : input.substr(newline + 1);

  auto parsed = anchor_events::event::ParseEvent(record, 64 * 1024);
  const auto* event = std::get_if<anchor_events::event::Event>(&parsed);
  if (event == nullptr) {
    return 0;
  }
  RequireJsonObject(anchor_events::event::BuildBusinessBody(*event, "2026-01-01T00:00:00.000Z"));
  RequireJsonObject(anchor_events::event::BuildClientBody(*event, base));
  return 0;
}
