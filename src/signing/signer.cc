#include "signing/signer.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "signing/encoding.h"

namespace anchor_events::signing {
namespace {

constexpr size_t kSignatureLength = 64;
constexpr size_t kSignatureBase64Length = 88;
// Enough for any unix time in the next few thousand years, and far from int64 overflow.
constexpr size_t kMaxTimestampDigits = 12;
constexpr std::string_view kHeaderName = "Signature:";

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// OpenSSL and libsodium fail here only on allocation failure or a build without Ed25519:
// neither is something a caller can handle, so it is treated as a broken invariant.
void CheckCrypto(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fatal: %s failed\n", what);
    std::abort();
  }
}

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

std::string SignedBytes(std::string_view first, std::string_view second, std::string_view body) {
  std::string message;
  message.reserve(first.size() + second.size() + body.size() + 2);
  message.append(first).append(".").append(second).append(".").append(body);
  return message;
}

Error HeaderError(std::string_view cause) {
  return Error{"signature verification failed for Signature header: " + std::string(cause)};
}

struct ParsedHeader {
  int64_t timestamp = 0;
  std::string_view timestamp_text;  // as written: the signer signed these exact digits
  std::string signature;
};

// Drops an optional "Signature:" field name (case-insensitive, as HTTP field names are)
// and the single space that follows it.
std::string_view StripHeaderName(std::string_view header) {
  if (header.size() < kHeaderName.size() + 1) {
    return header;
  }
  for (size_t i = 0; i < kHeaderName.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kHeaderName[i]))) {
      return header;
    }
  }
  return header[kHeaderName.size()] == ' ' ? header.substr(kHeaderName.size() + 1) : header;
}

// Accepts exactly "t=<digits>, s=<88 base64 characters>".
Result<ParsedHeader> ParseHeader(std::string_view header) {
  const Error malformed =
      HeaderError("malformed, expected 't=<unix seconds>, s=<88 base64 characters>'");
  std::string_view rest = StripHeaderName(header);
  if (!rest.starts_with("t=")) {
    return malformed;
  }
  rest.remove_prefix(2);
  const size_t digits = rest.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos || digits > kMaxTimestampDigits) {
    return malformed;
  }
  ParsedHeader parsed;
  parsed.timestamp_text = rest.substr(0, digits);
  std::from_chars(rest.data(), rest.data() + digits, parsed.timestamp);
  rest.remove_prefix(digits);
  if (!rest.starts_with(", s=")) {
    return malformed;
  }
  rest.remove_prefix(4);
  if (rest.size() != kSignatureBase64Length) {
    return malformed;
  }
  std::optional<std::string> signature = Base64Decode(rest);
  if (!signature || signature->size() != kSignatureLength) {
    return malformed;
  }
  parsed.signature = std::move(*signature);
  return parsed;
}

uint64_t AbsoluteDifference(int64_t a, int64_t b) {
  // Unsigned wrap-around gives the exact distance even when a - b would overflow int64.
  return a >= b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
                : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
}

}  // namespace

// Signing runs once per wallet delivery attempt, so it uses libsodium: its Ed25519 signs in
// about half the time of OpenSSL 3.0's (docs/benchmarks.md). Signatures are deterministic
// (RFC 8032), so both give the same bytes; verification stays with OpenSSL.
struct SigningKey::Impl {
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret{};  // seed || public key

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { sodium_memzero(secret.data(), secret.size()); }
};

SigningKey::SigningKey(std::shared_ptr<const Impl> impl, std::string account_id)
    : impl_(std::move(impl)), account_id_(std::move(account_id)) {}

Result<SigningKey> SigningKey::FromSeed(std::string_view seed) {
  Result<Key32> raw = DecodeStrkey(seed, StrkeyVersion::kSeed);
  if (!raw.ok()) {
    return raw.error();
  }
  CheckCrypto(sodium_init() >= 0, "libsodium initialisation");
  auto impl = std::make_shared<Impl>();
  Key32 public_key{};
  const int derived = crypto_sign_seed_keypair(public_key.data(), impl->secret.data(), raw->data());
  sodium_memzero(raw->data(), raw->size());
  CheckCrypto(derived == 0, "Ed25519 key derivation");
  return SigningKey(std::move(impl), EncodeStrkey(public_key, StrkeyVersion::kAccountId));
}

std::string SigningKey::Sign(std::string_view message) const {
  std::string signature(kSignatureLength, '\0');
  CheckCrypto(crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                                   Bytes(message), message.size(), impl_->secret.data()) == 0,
              "Ed25519 sign");
  return signature;
}

std::string SignatureHeaderValue(const SigningKey& key, int64_t unix_seconds, std::string_view host,
                                 std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  return "t=" + t + ", s=" + Base64Encode(key.Sign(SignedBytes(t, host, body)));
}

Status VerifySignatureHeader(std::string_view header, std::string_view account_id,
                             std::string_view host, std::string_view body, int64_t now,
                             int64_t max_age_seconds) {
  Result<ParsedHeader> parsed = ParseHeader(header);
  if (!parsed.ok()) {
    return parsed.error();
  }
  Result<Key32> public_key = DecodeStrkey(account_id, StrkeyVersion::kAccountId);
  if (!public_key.ok()) {
    return HeaderError("account is not usable: " + public_key.error().message);
  }
  const std::string message = SignedBytes(parsed->timestamp_text, host, body);
  if (!VerifyEd25519(*public_key, message, parsed->signature)) {
    return HeaderError("signature does not match the body, host and timestamp for this account");
  }
  const uint64_t age = AbsoluteDifference(now, parsed->timestamp);
  if (max_age_seconds < 0 || age > static_cast<uint64_t>(max_age_seconds)) {
    const bool past = parsed->timestamp <= now;
    return HeaderError("timestamp is " + std::to_string(age) +
                       (past ? " s old" : " s in the future") + ", more than the " +
                       std::to_string(max_age_seconds) + " s allowed");
  }
  return Status();
}

bool VerifyEd25519(const Key32& public_key, std::string_view message, std::string_view signature) {
  if (signature.size() != kSignatureLength) {
    return false;
  }
  PkeyPtr key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (key == nullptr) {
    ERR_clear_error();
    return false;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  CheckCrypto(ctx != nullptr, "digest context allocation");
  const bool valid = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
                     EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                                      message.size()) == 1;
  if (!valid) {
    // A rejected signature is an expected outcome; leaving it on the thread's error queue
    // would surface later as a bogus error in unrelated TLS calls on the same thread.
    ERR_clear_error();
  }
  return valid;
}

std::string StandardWebhookSignature(const SigningKey& key, std::string_view id, int64_t timestamp,
                                     std::string_view body) {
  return "v1a," + Base64Encode(key.Sign(SignedBytes(id, std::to_string(timestamp), body)));
}

std::string StandardWebhookHmacSignature(std::string_view secret_bytes, std::string_view id,
                                         int64_t timestamp, std::string_view body) {
  return "v1," +
         Base64Encode(HmacSha256(secret_bytes, SignedBytes(id, std::to_string(timestamp), body)));
}

Result<std::string> DecodeWebhookSecret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.starts_with(kPrefix)) {
    secret.remove_prefix(kPrefix.size());
  }
  std::optional<std::string> bytes = Base64Decode(secret);
  if (!bytes || bytes->empty()) {
    return Error{"invalid Standard Webhooks secret: expected whsec_ followed by standard base64"};
  }
  return std::move(*bytes);
}

}  // namespace anchor_events::signing
