#include "signing/jwt.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "signing/encoding.h"
#include "signing_vectors.h"

namespace anchor_events::signing {
namespace {

using testing::SigningVectors;
using testing::String;

std::vector<std::string> SplitToken(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot = token.find('.'); dot != std::string::npos; dot = token.find('.', start)) {
    parts.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(token.substr(start));
  return parts;
}

// base64url is decoded through the strict standard decoder, so this also checks that the
// token carries no padding and only url-alphabet characters.
std::optional<std::string> Base64UrlDecode(std::string text) {
  if (text.find_first_of("+/=") != std::string::npos) {
    return std::nullopt;
  }
  for (char& c : text) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  text.append((4 - text.size() % 4) % 4, '=');
  return Base64Decode(text);
}

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

// Whether the token's HS256 signature is right for `secret`, whatever its key order.
bool SignatureValid(const std::string& token, const std::string& secret) {
  const size_t last_dot = token.rfind('.');
  return Base64UrlEncode(HmacSha256(secret, token.substr(0, last_dot))) ==
         token.substr(last_dot + 1);
}

TEST(JwtTest, OurHmacVerifiesTheVectorToken) {
  const rapidjson::Value& jwt = SigningVectors()["jwt"];
  const std::string token = String(jwt, "token");
  const std::string secret = String(jwt, "secret");

  EXPECT_TRUE(SignatureValid(token, secret));
  EXPECT_FALSE(SignatureValid(token, secret + "x"));
}

TEST(JwtTest, MintsTokenWithVectorClaims) {
  const rapidjson::Value& jwt = SigningVectors()["jwt"];
  const std::string secret = String(jwt, "secret");

  const std::string token = MintJwt(secret, 1700000000, 30);

  const std::vector<std::string> parts = SplitToken(token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(SignatureValid(token, secret));
  std::optional<std::string> header = Base64UrlDecode(parts[0]);
  std::optional<std::string> claims = Base64UrlDecode(parts[1]);
  ASSERT_TRUE(header.has_value());
  ASSERT_TRUE(claims.has_value());
  rapidjson::Document header_json = ParseJson(*header);
  rapidjson::Document claims_json = ParseJson(*claims);
  ASSERT_FALSE(header_json.HasParseError()) << *header;
  ASSERT_FALSE(claims_json.HasParseError()) << *claims;
  EXPECT_EQ(String(header_json, "alg"), String(jwt["header"], "alg"));
  EXPECT_EQ(claims_json.MemberCount(), 2u);
  EXPECT_EQ(claims_json["iat"].GetInt64(), jwt["claims"]["iat"].GetInt64());
  EXPECT_EQ(claims_json["exp"].GetInt64(), jwt["claims"]["exp"].GetInt64());
}

TEST(JwtTest, SignatureIsKeyedBySecretBytes) {
  const std::string token = MintJwt("secret-one-of-at-least-32-bytes!!", 1700000000, 30);

  EXPECT_TRUE(SignatureValid(token, "secret-one-of-at-least-32-bytes!!"));
  EXPECT_FALSE(SignatureValid(token, "secret-two-of-at-least-32-bytes!!"));
  EXPECT_EQ(token.find('='), std::string::npos);
}

}  // namespace
}  // namespace anchor_events::signing
