// Base64 (standard, padded) and base64url (unpadded) codecs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace anchor_events::signing {

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);  // strict: padded, no spaces
std::string Base64UrlEncode(std::string_view bytes);
std::string HmacSha256(std::string_view key, std::string_view message);

}  // namespace anchor_events::signing
