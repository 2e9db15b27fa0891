#include "base/url.h"

#include <gtest/gtest.h>

namespace anchor_events {
namespace {

TEST(UrlTest, KeepsWrittenPortInSignatureHost) {
  Result<Url> url = ParseUrl("http://Wallet.Example:8080/cb?x=1");

  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->SignatureHost(), "Wallet.Example:8080");
  EXPECT_EQ(url->host, "wallet.example");
  EXPECT_EQ(url->path, "/cb");
  EXPECT_EQ(url->query, "x=1");
}

TEST(UrlTest, OmitsPortWhenNotWritten) {
  Result<Url> url = ParseUrl("https://wallet.example.com/callbacks/sep24");

  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->SignatureHost(), "wallet.example.com");
  EXPECT_EQ(url->EffectivePort(), 443);
}

TEST(UrlTest, SignatureHostKeepsThePortAsWritten) {
  Result<Url> url = ParseUrl("https://wallet.example.com:0443/cb");

  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->SignatureHost(), "wallet.example.com:0443");
  EXPECT_EQ(url->EffectivePort(), 443);
}

TEST(UrlTest, KeepsExplicitDefaultPort) {
  Result<Url> url = ParseUrl("https://wallet.example.com:443/cb");

  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->SignatureHost(), "wallet.example.com:443");
}

TEST(UrlTest, RejectsUserinfoSchemesAndControlCharacters) {
  EXPECT_FALSE(ParseUrl("http://user:pw@wallet.example/cb").ok());
  EXPECT_FALSE(ParseUrl("ftp://wallet.example/cb").ok());
  EXPECT_FALSE(ParseUrl("http://wallet.example/cb\r\nX: y").ok());
  EXPECT_FALSE(ParseUrl("wallet.example/cb").ok());
  EXPECT_FALSE(ParseUrl("http:///cb").ok());
  EXPECT_FALSE(ParseUrl("http://wallet.example:0/cb").ok());
  EXPECT_FALSE(ParseUrl("http://wallet.example:99999/cb").ok());
  EXPECT_FALSE(ParseUrl("http://wallet.example/cb#frag").ok());
}

TEST(UrlTest, RejectsNonStandardIpv4Spellings) {
  for (const char* url :
       {"http://2130706433/cb", "http://0x7f000001/cb", "http://0X7F000001:8080/cb",
        "http://0177.0.0.1/cb", "http://127.1/cb", "http://127.0.1/cb", "http://10.0.0.1.2/cb",
        "http://127.0.0.01/cb", "http://256.0.0.1/cb", "http://127.0.0.1./cb",
        "http://0x7f.0.0.1/cb", "http://wallet.0x10/cb", "http://wallet.1/cb"}) {
    Result<Url> parsed = ParseUrl(url);

    ASSERT_FALSE(parsed.ok()) << url;
    EXPECT_NE(parsed.error().message.find("non-standard spelling of an IPv4 address"),
              std::string::npos)
        << url;
  }
  for (const char* url : {"http://127.0.0.1:8080/cb", "http://10.0.0.1/cb", "http://0.0.0.0/cb",
                          "https://wallet1.example/cb", "https://1wallet.example/cb",
                          "https://0x7f.example/cb", "http://[::ffff:127.0.0.1]/cb"}) {
    EXPECT_TRUE(ParseUrl(url).ok()) << url;
  }
}

TEST(UrlTest, ErrorsNeverRepeatCredentialsOrQuery) {
  Result<Url> userinfo = ParseUrl("http://user:s3cret@wallet.example/cb");
  Result<Url> query = ParseUrl("ftp://wallet.example/cb?token=s3cret");

  ASSERT_FALSE(userinfo.ok());
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(userinfo.error().message.find("s3cret"), std::string::npos);
  EXPECT_NE(userinfo.error().message.find("user information"), std::string::npos);
  EXPECT_EQ(query.error().message.find("s3cret"), std::string::npos);
}

TEST(UrlTest, AppendsEventSegmentWithoutDoubleSlash) {
  Url with_path = *ParseUrl("http://h:8081/callback");
  Url with_slash = *ParseUrl("http://h:8081/callback/");
  Url bare = *ParseUrl("http://h:8081?tenant=a");

  EXPECT_EQ(AppendPathSegment(with_path, "event").ToString(), "http://h:8081/callback/event");
  EXPECT_EQ(AppendPathSegment(with_slash, "event").ToString(), "http://h:8081/callback/event");
  EXPECT_EQ(AppendPathSegment(bare, "event").ToString(), "http://h:8081/event?tenant=a");
}

TEST(UrlTest, AcceptsBracketedIpv6Literal) {
  Result<Url> url = ParseUrl("http://[::1]:9000/x");

  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "[::1]");
  EXPECT_EQ(url->SignatureHost(), "[::1]:9000");
}

}  // namespace
}  // namespace anchor_events
