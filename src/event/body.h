// Request bodies built from an event snapshot (SPEC §4.1, §4.2, testdata/README.md).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "event/event.h"

namespace anchor_events::event {

// The business server body: {"id","timestamp","type","payload":{...}}. `timestamp` is the
// ISO-8601 UTC send time. For customer_updated the payload is {"customer":{"id":...}}.
std::string BuildBusinessBody(const Event& event, std::string_view timestamp);

// The wallet body: for transactions {"transaction":{...}} in the shape of the SEP's
// single-transaction response; for customers the bare customer object. Absent source fields
// are left out. `more_info_base_url` is used for more_info_url when not empty.
std::string BuildClientBody(const Event& event, std::string_view more_info_base_url = {});

// ISO-8601 UTC with milliseconds, e.g. "2026-11-30T10:00:00.000Z".
std::string FormatTimestamp(std::chrono::system_clock::time_point t);

}  // namespace anchor_events::event
