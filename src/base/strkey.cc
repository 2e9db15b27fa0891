#include "base/strkey.h"

#include <algorithm>
#include <array>

#include <openssl/crypto.h>

namespace anchor_events {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr size_t kStrkeyLength = 56;
// Version byte + 32 key bytes + 2 checksum bytes: 280 bits, exactly 56 base32 characters.
constexpr size_t kPayloadLength = 35;

using Payload = std::array<uint8_t, kPayloadLength>;

uint16_t Crc16Xmodem(const uint8_t* data, size_t size) {
  uint16_t crc = 0;
  for (size_t i = 0; i < size; ++i) {
    crc = static_cast<uint16_t>(crc ^ (data[i] << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

const char* VersionName(StrkeyVersion version) {
  return version == StrkeyVersion::kSeed ? "seed" : "account id";
}

Error StrkeyError(StrkeyVersion version, const std::string& cause) {
  return Error{std::string("strkey decode failed for ") + VersionName(version) + ": " + cause};
}

// Fails on the first character outside the alphabet; the character itself is not reported
// because any part of a seed is secret.
Result<Payload> Base32Decode(std::string_view text, StrkeyVersion version) {
  Payload payload{};
  uint32_t buffer = 0;
  int bits = 0;
  size_t out = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) {
      const bool lower = c >= 'a' && c <= 'z';
      return StrkeyError(version, lower ? "lower-case characters are not allowed"
                                        : "character " + std::to_string(i + 1) +
                                              " is outside the base32 alphabet");
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      payload[out++] = static_cast<uint8_t>((buffer >> bits) & 0xFF);
    }
  }
  return payload;
}

}  // namespace

Result<Key32> DecodeStrkey(std::string_view text, StrkeyVersion version) {
  if (text.size() != kStrkeyLength) {
    return StrkeyError(version, "expected " + std::to_string(kStrkeyLength) + " characters, got " +
                                    std::to_string(text.size()));
  }
  Result<Payload> payload = Base32Decode(text, version);
  if (!payload.ok()) {
    return payload.error();
  }
  Payload& bytes = *payload;
  if (bytes[0] != static_cast<uint8_t>(version)) {
    return StrkeyError(version, version == StrkeyVersion::kSeed
                                    ? "must be a secret seed (S...)"
                                    : "must be a public account key (G...)");
  }
  const uint16_t expected = Crc16Xmodem(bytes.data(), kPayloadLength - 2);
  const uint16_t written =
      static_cast<uint16_t>(bytes[kPayloadLength - 2] | (bytes[kPayloadLength - 1] << 8));
  if (expected != written) {
    return StrkeyError(version, "checksum mismatch");
  }
  Key32 key{};
  std::copy(bytes.begin() + 1, bytes.begin() + 1 + key.size(), key.begin());
  // A seed's bytes should live only in the returned key and the EVP_PKEY built from it.
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

std::string StrkeyProblem(std::string_view text, StrkeyVersion version) {
  if (text.empty()) {
    return "is empty";
  }
  Result<Key32> key = DecodeStrkey(text, version);
  if (key.ok()) {
    OPENSSL_cleanse(key->data(), key->size());
    return "";
  }
  const std::string& message = key.error().message;
  return message.substr(message.find(": ") + 2);
}

std::string EncodeStrkey(const Key32& key, StrkeyVersion version) {
  Payload bytes{};
  bytes[0] = static_cast<uint8_t>(version);
  std::copy(key.begin(), key.end(), bytes.begin() + 1);
  const uint16_t crc = Crc16Xmodem(bytes.data(), kPayloadLength - 2);
  bytes[kPayloadLength - 2] = static_cast<uint8_t>(crc & 0xFF);
  bytes[kPayloadLength - 1] = static_cast<uint8_t>(crc >> 8);

  std::string text;
  text.reserve(kStrkeyLength);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text.push_back(kAlphabet[(buffer >> bits) & 0x1F]);
    }
  }
  return text;
}

}  // namespace anchor_events
