#include "signing/encoding.h"

#include <array>
#include <cstdint>
#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace anchor_events::signing {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16 |
                     static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8 |
                     static_cast<uint8_t>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) {
      out.push_back(alphabet[(group >> shift) & 0x3F]);
    }
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) {
    return out;
  }
  uint32_t group = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16;
  if (rest == 2) {
    group |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8;
  }
  out.push_back(alphabet[(group >> 18) & 0x3F]);
  out.push_back(alphabet[(group >> 12) & 0x3F]);
  if (rest == 2) {
    out.push_back(alphabet[(group >> 6) & 0x3F]);
  }
  if (pad) {
    out.append(3 - rest, '=');
  }
  return out;
}

// -1 for anything outside the standard alphabet, including '='.
int StandardValue(char c) {
  const size_t pos = kStandardAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kStandardAlphabet, true); }

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrlAlphabet, false); }

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  const std::string_view data = text.substr(0, text.size() - padding);
  std::string out;
  out.reserve(data.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : data) {
    const int value = StandardValue(c);
    if (value < 0) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // Non-zero leftover bits mean a second spelling of the same bytes; strict decoding allows
  // exactly one text per byte string so signatures cannot be varied without detection.
  if ((buffer & ((1u << bits) - 1)) != 0) {
    return std::nullopt;
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // Some OpenSSL 3 releases refuse a null key pointer even with length 0.
  static constexpr char kEmpty[1] = {};
  const unsigned char* ok =
      HMAC(EVP_sha256(), key.empty() ? kEmpty : key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
           &length);
  if (ok == nullptr) {
    // Only allocation failure or a broken OpenSSL install gets here.
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

}  // namespace anchor_events::signing
