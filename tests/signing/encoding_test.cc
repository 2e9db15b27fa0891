#include "signing/encoding.h"

#include <gtest/gtest.h>

#include "signing_vectors.h"

namespace anchor_events::signing {
namespace {

using testing::BytesToHex;

TEST(EncodingTest, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(EncodingTest, Base64UsesStandardAlphabetAndBase64UrlTheUrlOneWithoutPadding) {
  const std::string bytes("\xfb\xff\xbf\x00", 4);

  EXPECT_EQ(Base64Encode(bytes), "+/+/AA==");
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_AA");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(EncodingTest, Base64DecodeRoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }

  for (size_t length = 0; length <= bytes.size(); length += 37) {
    const std::string input = bytes.substr(0, length);
    EXPECT_EQ(Base64Decode(Base64Encode(input)), input) << "length " << length;
  }
}

TEST(EncodingTest, Base64DecodeIsStrict) {
  EXPECT_EQ(Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(Base64Decode(""), "");

  EXPECT_FALSE(Base64Decode("Zm9vYg"));      // padding missing
  EXPECT_FALSE(Base64Decode("Zm9vYg="));     // padding short
  EXPECT_FALSE(Base64Decode("Zm9v Yg=="));   // space
  EXPECT_FALSE(Base64Decode("Zm9vYg==\n"));  // trailing newline
  EXPECT_FALSE(Base64Decode("Zg=v"));        // padding in the middle
  EXPECT_FALSE(Base64Decode("Z==="));        // three padding characters
  EXPECT_FALSE(Base64Decode("-_-_AA=="));    // url alphabet
  EXPECT_FALSE(Base64Decode("Zh=="));        // non-zero unused bits: a second spelling of "f"
}

TEST(EncodingTest, HmacSha256MatchesRfc4231Vectors) {
  EXPECT_EQ(BytesToHex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(BytesToHex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // A key longer than the block size is hashed first (RFC 4231 test case 6).
  EXPECT_EQ(BytesToHex(HmacSha256(std::string(131, '\xaa'),
                                  "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

}  // namespace
}  // namespace anchor_events::signing
