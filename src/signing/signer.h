// The anchor's SEP-10 key and the callback Signature header (SPEC §5).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/strkey.h"

namespace anchor_events::signing {

// An Ed25519 private key loaded from an 'S...' seed. Thread-safe after construction
// (each Sign call uses its own context). Never logs or exposes the seed.
class SigningKey {
 public:
  // Fails when `seed` is not a valid 'S...' strkey; the message never contains the seed.
  static Result<SigningKey> FromSeed(std::string_view seed);

  // The 64-byte raw signature of `message`.
  std::string Sign(std::string_view message) const;
  // The account id 'G...' for stellar.toml's SIGNING_KEY.
  const std::string& AccountId() const { return account_id_; }

 private:
  struct Impl;
  explicit SigningKey(std::shared_ptr<const Impl> impl, std::string account_id);
  std::shared_ptr<const Impl> impl_;
  std::string account_id_;
};

// The Signature header value "t=<t>, s=<base64>" over "<t>.<host>.<body>".
std::string SignatureHeaderValue(const SigningKey& key, int64_t unix_seconds, std::string_view host,
                                 std::string_view body);

// Verifies a Signature header (with or without the leading "Signature: ", field name in any
// case) against an account 'G...'. Checks, in order: the format is exactly
// "t=<digits>, s=<88 base64 characters>", the account decodes, the signature matches, and
// freshness |now - t| <= max_age_seconds. The error message names the check that failed.
Status VerifySignatureHeader(std::string_view header, std::string_view account_id,
                             std::string_view host, std::string_view body, int64_t now,
                             int64_t max_age_seconds = 120);

// Verifies a raw Ed25519 signature with a 32-byte public key.
bool VerifyEd25519(const Key32& public_key, std::string_view message, std::string_view signature);

// Standard Webhooks "v1a,<base64 ed25519>" over "<id>.<timestamp>.<body>".
std::string StandardWebhookSignature(const SigningKey& key, std::string_view id, int64_t timestamp,
                                     std::string_view body);

// Standard Webhooks "v1,<base64 HMAC-SHA256>" over "<id>.<timestamp>.<body>", keyed with the
// decoded secret bytes (see DecodeWebhookSecret).
std::string StandardWebhookHmacSignature(std::string_view secret_bytes, std::string_view id,
                                         int64_t timestamp, std::string_view body);

// The key bytes of a Standard Webhooks secret "whsec_<base64>" (the prefix is optional).
// Fails without quoting the secret.
Result<std::string> DecodeWebhookSecret(std::string_view secret);

}  // namespace anchor_events::signing
