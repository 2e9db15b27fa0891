// HS256 tokens for the business server (SPEC §4.1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace anchor_events::signing {

// A compact JWT {"alg":"HS256","typ":"JWT"} with claims iat and exp = iat + expiration_seconds,
// keyed by the UTF-8 bytes of `secret`.
std::string MintJwt(std::string_view secret, int64_t issued_at, int64_t expiration_seconds);

}  // namespace anchor_events::signing
