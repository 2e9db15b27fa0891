// Stellar strkeys (SEP-23): base32 with a version byte and a CRC16-XModem checksum.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace anchor_events {

enum class StrkeyVersion : uint8_t {
  kAccountId = 6 << 3,  // 'G...' ed25519 public key (0x30)
  kSeed = 18 << 3,      // 'S...' ed25519 secret seed (0x90)
};

using Key32 = std::array<uint8_t, 32>;

// Decodes a 56-character strkey of the given version. Errors say why (length, alphabet or
// case, version, checksum) without echoing the key.
Result<Key32> DecodeStrkey(std::string_view text, StrkeyVersion version);
// Why `text` is not a valid strkey of `version` ("checksum mismatch", ...), empty when it is.
std::string StrkeyProblem(std::string_view text, StrkeyVersion version);
std::string EncodeStrkey(const Key32& key, StrkeyVersion version);

}  // namespace anchor_events
