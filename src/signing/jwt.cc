#include "signing/jwt.h"

#include "signing/encoding.h"

namespace anchor_events::signing {
namespace {

// Fixed bytes rather than a JSON library: the header never varies and the claims are two
// integers, so there is nothing to escape.
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

}  // namespace

std::string MintJwt(std::string_view secret, int64_t issued_at, int64_t expiration_seconds) {
  const std::string claims = R"({"iat":)" + std::to_string(issued_at) + R"(,"exp":)" +
                             std::to_string(issued_at + expiration_seconds) + "}";
  std::string token = Base64UrlEncode(kHeader) + "." + Base64UrlEncode(claims);
  token += "." + Base64UrlEncode(HmacSha256(secret, token));
  return token;
}

}  // namespace anchor_events::signing
