// Request bodies built from an event snapshot (SPEC §4.1, §4.2, testdata/README.md).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "event/event.h"

namespace anchor_events::event {

// The business server body: {"id","timestamp","type","payload":{...}}. `timestamp` is the
// ISO-8601 UTC send time. For customer_updated the payload is {"customer":{"id":...}}.
// Numbers are written exactly as they were in the record.
std::string BuildBusinessBody(const Event& event, std::string_view timestamp);

// The wallet body: for transactions {"transaction":{...}} in the shape of the SEP's
// single-transaction response, mapped as testdata/README.md lays out; for customers the bare
// customer object; for quotes (never sent to wallets) the bare quote object. Absent or null
// source fields are left out, never written as null; unmapped fields (fundingMethod, type,
// amount_expected, ...) are dropped. Numbers are written exactly as they were in the record.
//
// - `refunded` is written when the transaction has a "refunds" object or status "refunded",
//   and is true only for status "refunded": the SEPs define it as "refunded in full".
// - `more_info_url` (SEP-6, SEP-24) is written only when `more_info_base_url` is not empty, as
//   <base>?transaction_id=<percent-encoded id> ('&' when the base already has a query), the
//   Platform's parameter name; the Platform's per-request `token` parameter is not added.
// - A transaction whose sep is not 6, 24 or 31 gets only the fields the three SEPs share.
std::string BuildClientBody(const Event& event, std::string_view more_info_base_url = {});

// ISO-8601 UTC with milliseconds, e.g. "2026-11-30T10:00:00.000Z".
std::string FormatTimestamp(std::chrono::system_clock::time_point t);

}  // namespace anchor_events::event
